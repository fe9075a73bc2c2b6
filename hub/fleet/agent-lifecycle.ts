import type { Knex } from "knex";
import { whereUuidIn } from "../db/uuid-array.js";
import { AGENT_STATUS, type AgentStatus } from "./fleet-enums.js";

/**
 * An agent's status (DESIGN.md): enrolled → connected ⇄ disconnected → offline, and revoked from
 * any of them. Revoked is final. connected → connected is a Hello on a new stream (the session
 * moves). Every status write goes through a guarded update here: `WHERE status IN (<states
 * allowing the move>)`, so a racing writer (a revoke, another hub) is never overwritten.
 */
export type { AgentStatus };

/** The status of a freshly enrolled agent (the one status write that is not a move). */
export const ENROLLED: AgentStatus = "enrolled";

const ALLOWED: Record<AgentStatus, readonly AgentStatus[]> = {
  enrolled: ["connected", "offline", "revoked"],
  connected: ["connected", "disconnected", "offline", "revoked"],
  disconnected: ["connected", "offline", "revoked"],
  offline: ["connected", "revoked"],
  revoked: [],
};

export function canTransition(from: AgentStatus, to: AgentStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The statuses an agent may have for a move to `to` to be legal: the WHERE clause of a guarded update. */
export function statusesAllowing(to: AgentStatus): AgentStatus[] {
  return AGENT_STATUS.dbValues.filter((from) => canTransition(from, to));
}

/**
 * Agents a heartbeat on a live session brings back to connected: only those liveness took
 * offline (a disconnected agent's late heartbeat revives nobody; its stream is gone).
 */
export const REVIVABLE: readonly AgentStatus[] = ["offline"];
if (!REVIVABLE.every((s) => canTransition(s, "connected"))) throw new Error("REVIVABLE must move to connected legally");

/**
 * Moves these agents to `to` where the move is legal, with the other columns the move sets;
 * returns the ids that moved. `ids` may be a subquery (a bounded batch chosen in the same statement).
 */
export async function moveAgents(
  trx: Knex | Knex.Transaction,
  ids: readonly string[] | Knex.QueryBuilder,
  to: AgentStatus,
  columns: Record<string, unknown>,
): Promise<string[]> {
  const q = Array.isArray(ids)
    ? whereUuidIn(trx("agents"), "id", ids as readonly string[])
    : trx("agents").whereIn("id", ids as Knex.QueryBuilder);
  const rows = await q
    .whereIn("status", statusesAllowing(to))
    .update({ ...columns, status: to })
    .returning<{ id: string }[]>("id");
  return rows.map((r) => r.id);
}
