import type { Knex } from "knex";
import { whereUuidIn } from "../db/uuid-array.js";

/**
 * A compute machine's status (spec 000 §1.3; COMPUTE_MACHINE_STATUS maps it to the wire).
 * Operators move machines between active, maintenance and decommissioning (the infrastructure
 * API); the fleet moves them between active and offline as their agent goes and comes.
 * Decommissioning is final. Every status write goes through a guarded update here:
 * `WHERE status IN (<allowed from-states>)`.
 */
export const MACHINE_STATUSES = ["active", "maintenance", "offline", "decommissioning"] as const;
export type MachineStatus = (typeof MACHINE_STATUSES)[number];

/** The status of a machine registered by its agent's first Hello. */
export const INITIAL_MACHINE_STATUS: MachineStatus = "active";

const ALLOWED: Record<MachineStatus, readonly MachineStatus[]> = {
  active: ["maintenance", "offline", "decommissioning"],
  maintenance: ["active", "decommissioning"],
  offline: ["active", "maintenance", "decommissioning"],
  decommissioning: [],
};

export function canTransition(from: MachineStatus, to: MachineStatus): boolean {
  return ALLOWED[from].includes(to);
}

export interface MachineMove {
  readonly from: readonly MachineStatus[];
  readonly to: MachineStatus;
}

/**
 * The moves the fleet makes on its own. Narrower than ALLOWED: an agent coming back revives only
 * the machine its going took offline, never one an operator put into maintenance.
 */
export const AGENT_LOST: MachineMove = { from: ["active"], to: "offline" };
export const AGENT_BACK: MachineMove = { from: ["offline"], to: "active" };

/** The operators' moves (InfrastructureService). */
export const START_MAINTENANCE: MachineMove = { from: ["active", "offline"], to: "maintenance" };
export const END_MAINTENANCE: MachineMove = { from: ["maintenance"], to: "active" };
export const DECOMMISSION: MachineMove = { from: ["active", "maintenance", "offline"], to: "decommissioning" };

for (const move of [AGENT_LOST, AGENT_BACK, START_MAINTENANCE, END_MAINTENANCE, DECOMMISSION]) {
  for (const from of move.from)
    if (!canTransition(from, move.to)) throw new Error(`Machine move ${from} → ${move.to} is not in the lifecycle`);
}

/** Applies a move to the live machines of these agents where their status allows it. */
export async function moveMachinesOfAgents(
  trx: Knex | Knex.Transaction,
  agentIds: readonly string[],
  move: MachineMove,
  now: Date,
): Promise<void> {
  if (agentIds.length === 0) return;
  await whereUuidIn(trx("compute_machines"), "agent_id", agentIds)
    .whereIn("status", [...move.from])
    .whereNull("deleted_at")
    .update({ status: move.to, updated_at: now });
}

/** Applies a move to one live machine where its status allows it; false when it did not. */
export async function moveMachine(
  trx: Knex.Transaction,
  id: string,
  move: MachineMove,
  now: Date,
  by: string | null,
): Promise<boolean> {
  const n = await trx("compute_machines")
    .where("id", id)
    .whereIn("status", [...move.from])
    .whereNull("deleted_at")
    .update({ status: move.to, updated_at: now, updated_by: by });
  return n > 0;
}
