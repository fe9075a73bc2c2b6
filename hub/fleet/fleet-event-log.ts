import type { Knex } from "knex";
import { newId } from "../db/ids.js";
import { whereUuidIn } from "../db/uuid-array.js";
import type { EventSeverity } from "./fleet-enums.js";

const INSERT_CHUNK = 1000;

export interface FleetEventInput {
  agentId: string;
  kind: string;
  severity: EventSeverity;
  message: string;
  details?: Record<string, unknown>;
  occurredAt: Date;
}

/**
 * Appends to fleet_events (hub/monitoring's table, shared by every source of fleet events): what
 * agents report (Event messages) and what the fleet decides about them (offline, revoked). The
 * machine id is looked up so people can find a compute machine's history without the agent id.
 */
export async function recordFleetEvents(knex: Knex, events: readonly FleetEventInput[]): Promise<void> {
  if (events.length === 0) return;
  const agentIds = [...new Set(events.map((e) => e.agentId))];
  const machines = await whereUuidIn(knex("compute_machines"), "agent_id", agentIds)
    .whereNull("deleted_at")
    .select<{ id: string; agent_id: string }[]>("id", "agent_id");
  const machineOf = new Map(machines.map((m) => [m.agent_id, m.id]));
  const rows = events.map((e) => ({
    id: newId(),
    occurred_at: e.occurredAt,
    kind: e.kind.slice(0, 128),
    severity: e.severity,
    agent_id: e.agentId,
    machine_id: machineOf.get(e.agentId) ?? null,
    message: e.message.slice(0, 4000),
    details: JSON.stringify(e.details ?? {}),
  }));
  // 8 columns a row: chunks keep each INSERT far below PostgreSQL's 65 535 bind parameters.
  for (let i = 0; i < rows.length; i += INSERT_CHUNK)
    await knex("fleet_events").insert(rows.slice(i, i + INSERT_CHUNK));
}
