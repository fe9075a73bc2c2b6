import type { Knex } from "knex";
import { whereUuidIn } from "../db/uuid-array.js";

/**
 * A cloud box's status (spec 000 §1.6): initializing → online ⇄ maintenance, online → offline →
 * disabled → decommissioned, plus error. The fleet moves boxes between initializing/online/error
 * and offline as their agent comes and goes; operators disable, enable and decommission. Every
 * status write is a guarded update through a move here: `WHERE status IN (<from>)`, so a disabled
 * box stays disabled whatever its agent does, and decommissioned is final.
 */
export const BOX_STATUSES = [
  "initializing",
  "online",
  "offline",
  "maintenance",
  "error",
  "disabled",
  "decommissioned",
] as const;
export type BoxStatus = (typeof BOX_STATUSES)[number];

const ALLOWED: Record<BoxStatus, readonly BoxStatus[]> = {
  initializing: ["online", "offline", "error", "disabled", "decommissioned"],
  online: ["offline", "maintenance", "error", "disabled", "decommissioned"],
  offline: ["online", "maintenance", "disabled", "decommissioned"],
  maintenance: ["online", "offline", "disabled", "decommissioned"],
  error: ["online", "offline", "maintenance", "disabled", "decommissioned"],
  disabled: ["online", "offline", "decommissioned"],
  decommissioned: [],
};

export function canTransition(from: BoxStatus, to: BoxStatus): boolean {
  return ALLOWED[from].includes(to);
}

export interface BoxMove {
  readonly name: string;
  readonly from: readonly BoxStatus[];
  readonly to: BoxStatus;
}

/** The agent said Hello (or a heartbeat revived it): an operator's state is left alone. */
export const AGENT_BACK: BoxMove = { name: "agent_back", from: ["initializing", "offline", "error"], to: "online" };
/** The agent's stream closed or it went silent. A disabled or maintenance box keeps its state. */
export const AGENT_LOST: BoxMove = { name: "agent_lost", from: ["initializing", "online", "error"], to: "offline" };
export const DISABLE: BoxMove = {
  name: "disable",
  from: ["initializing", "online", "offline", "maintenance", "error"],
  to: "disabled",
};
/** Enabling lands on online or offline by the agent's connection (enableTarget). */
export const ENABLE_ONLINE: BoxMove = { name: "enable", from: ["disabled"], to: "online" };
export const ENABLE_OFFLINE: BoxMove = { name: "enable", from: ["disabled"], to: "offline" };
export const START_MAINTENANCE: BoxMove = {
  name: "start maintenance of",
  from: ["online", "offline", "error"],
  to: "maintenance",
};
/** Ending maintenance lands on online or offline by the agent's connection, like enabling. */
export const END_MAINTENANCE_ONLINE: BoxMove = { name: "end maintenance of", from: ["maintenance"], to: "online" };
export const END_MAINTENANCE_OFFLINE: BoxMove = { name: "end maintenance of", from: ["maintenance"], to: "offline" };
export const DECOMMISSION: BoxMove = {
  name: "decommission",
  from: ["initializing", "online", "offline", "maintenance", "error", "disabled"],
  to: "decommissioned",
};

for (const move of [
  AGENT_BACK,
  AGENT_LOST,
  DISABLE,
  ENABLE_ONLINE,
  ENABLE_OFFLINE,
  START_MAINTENANCE,
  END_MAINTENANCE_ONLINE,
  END_MAINTENANCE_OFFLINE,
  DECOMMISSION,
]) {
  for (const from of move.from)
    if (!canTransition(from, move.to)) throw new Error(`Cloud box move ${from} → ${move.to} is not in the lifecycle`);
}

/** Applies a fleet move to the live boxes of these agents where their status allows it (agents that are not boxes match nothing). */
export async function moveBoxesOfAgents(
  trx: Knex | Knex.Transaction,
  agentIds: readonly string[],
  move: BoxMove,
  now: Date,
): Promise<void> {
  if (agentIds.length === 0) return;
  await whereUuidIn(trx("cloud_boxes"), "agent_id", agentIds)
    .whereIn("status", [...move.from])
    .whereNull("deleted_at")
    .update({ status: move.to, updated_at: now });
}

/** Applies a move to one live box where its status allows it; false when it did not. */
export async function moveBox(
  trx: Knex.Transaction,
  id: string,
  move: BoxMove,
  now: Date,
  by: string | null,
): Promise<boolean> {
  const n = await trx("cloud_boxes")
    .where("id", id)
    .whereIn("status", [...move.from])
    .whereNull("deleted_at")
    .update({ status: move.to, updated_at: now, updated_by: by })
    .returning("id");
  return n.length > 0;
}
