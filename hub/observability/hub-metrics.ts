import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The hub's Prometheus metrics, on a registry of its own so several hubs can share a process in tests. */
export interface HubMetrics {
  readonly registry: Registry;
  readonly apiRequestSeconds: Histogram<"method" | "code">;
  readonly connectedAgents: Gauge<"role">;
  readonly streamEvents: Counter<"event">;
  readonly heartbeatsReceived: Counter;
  readonly commandsFinished: Counter<"outcome">;
  readonly commandLatencySeconds: Histogram<"kind">;
}

export function createHubMetrics(): HubMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "edgehub_hub_" });
  return {
    registry,
    apiRequestSeconds: new Histogram({
      name: "edgehub_api_request_duration_seconds",
      help: "Admin API latency by method and Connect code",
      labelNames: ["method", "code"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    connectedAgents: new Gauge({
      name: "edgehub_agents_connected",
      help: "Agents holding a stream to this hub, by role",
      labelNames: ["role"],
      registers: [registry],
    }),
    streamEvents: new Counter({
      name: "edgehub_agent_stream_events_total",
      help: "Agent stream opens and closes",
      labelNames: ["event"],
      registers: [registry],
    }),
    heartbeatsReceived: new Counter({
      name: "edgehub_agent_heartbeats_total",
      help: "Heartbeats received from agents",
      registers: [registry],
    }),
    commandsFinished: new Counter({
      name: "edgehub_agent_commands_finished_total",
      help: "Agent commands by final outcome",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    commandLatencySeconds: new Histogram({
      name: "edgehub_agent_command_latency_seconds",
      help: "Time from command creation to its final state",
      labelNames: ["kind"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
      registers: [registry],
    }),
  };
}
