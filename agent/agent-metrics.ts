import http from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SessionObserver } from "../lib/fleet-session/fleet-session.js";

/** The agent's own Prometheus metrics: its session to the hub and the commands it ran. */
export function createAgentMetrics(): { registry: Registry; observer: SessionObserver } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "edgehub_agent_process_" });
  const connected = new Gauge({
    name: "edgehub_agent_connected",
    help: "1 while a session to a hub is established",
    registers: [registry],
  });
  const connects = new Counter({
    name: "edgehub_agent_connects_total",
    help: "Sessions established (a reconnect counts again)",
    registers: [registry],
  });
  const disconnects = new Counter({
    name: "edgehub_agent_stream_ends_total",
    help: "Streams to the hub that ended or failed",
    registers: [registry],
  });
  const heartbeats = new Counter({
    name: "edgehub_agent_heartbeats_sent_total",
    help: "Heartbeats sent",
    registers: [registry],
  });
  const commands = new Counter({
    name: "edgehub_agent_commands_total",
    help: "Commands run here by outcome",
    labelNames: ["kind", "outcome"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "edgehub_agent_command_duration_seconds",
    help: "Executor run time by kind",
    labelNames: ["kind"],
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [registry],
  });
  return {
    registry,
    observer: {
      connected: () => {
        connected.set(1);
        connects.inc();
      },
      disconnected: () => {
        connected.set(0);
        disconnects.inc();
      },
      heartbeatSent: () => heartbeats.inc(),
      commandFinished: (kind, state, seconds) => {
        commands.inc({ kind, outcome: state });
        duration.observe({ kind }, seconds);
      },
    },
  };
}

/** Serves GET /metrics on host:port (port 0 picks one); returns the bound port and a close function. */
export function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const bound = (server.address() as { port: number }).port;
      resolve({
        port: bound,
        close: () =>
          new Promise((r) => {
            server.close(() => r());
            server.closeAllConnections(); // a scraper's keep-alive must not hold the exit
          }),
      });
    });
  });
}
