import type { Knex } from "knex";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { INSTANCE_STATUS, type InstanceStatus } from "./instance-enums.js";

/**
 * The instance state machine of 000 §2.1:
 *
 *   stopped ──start──▶ initializing ──agent: running──▶ running ◀──▶ suspended
 *      ▲                   │  (placement/deadline failure: back to stopped)  │
 *      └───── stopped ◀── stopping ◀───────────── stop ───────────────────────┘
 *   stopped / initializing / running / suspended / stopping ──delete──▶ terminating ──▶ deleted
 *
 * `creating` exists in the spec's vocabulary; CreateInstance goes straight to `stopped` (nothing is
 * allocated at create), so only creating → stopped | deleted is allowed from it.
 */
const ALLOWED: Record<InstanceStatus, readonly InstanceStatus[]> = {
  creating: ["stopped", "deleted"],
  stopped: ["initializing", "terminating"],
  // A failed placement, start or deadline returns the instance to stopped.
  initializing: ["running", "stopping", "stopped", "terminating"],
  running: ["suspended", "stopping", "terminating"],
  suspended: ["running", "stopping", "terminating"],
  // A shutdown that fails while the domain still runs leaves it running.
  stopping: ["stopped", "running", "terminating"],
  terminating: ["deleted"],
  deleted: [],
};

export function canInstanceTransition(from: InstanceStatus, to: InstanceStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The statuses from which a move to `to` is legal: the WHERE clause of a guarded update. */
export function instanceStatesAllowing(to: InstanceStatus): InstanceStatus[] {
  return INSTANCE_STATUS.dbValues.filter((from) => canInstanceTransition(from, to));
}

export class IllegalInstanceTransitionError extends FailedPreconditionError {
  override readonly name = "IllegalInstanceTransitionError";
  constructor(
    readonly instanceId: string,
    readonly from: InstanceStatus,
    readonly to: InstanceStatus,
    action = `move instance ${instanceId}`,
  ) {
    super(`Cannot ${action}: it is ${from}, and an instance cannot go from ${from} to ${to}`, {
      reason: "ILLEGAL_INSTANCE_TRANSITION",
      metadata: { instance_id: instanceId, from, to },
    });
  }
}

/** Throws IllegalInstanceTransitionError unless `from → to` is in the table. */
export function assertInstanceTransition(id: string, from: InstanceStatus, to: InstanceStatus, action?: string): void {
  if (!canInstanceTransition(from, to)) throw new IllegalInstanceTransitionError(id, from, to, action);
}

/**
 * Moves an instance's status with a guarded update (`WHERE status IN (<states allowing it>)`), so a
 * racing writer is never overwritten; `extra` columns are written in the same statement. Returns
 * the previous status; refuses an illegal move with IllegalInstanceTransitionError.
 */
export async function transitionInstance(
  trx: Knex.Transaction | Knex,
  id: string,
  to: InstanceStatus,
  at: Date,
  extra: Record<string, unknown> = {},
): Promise<InstanceStatus> {
  const current = (await trx("instances").where({ id }).first("status")) as { status: InstanceStatus } | undefined;
  if (!current) throw new NotFoundError("instance", id);
  assertInstanceTransition(id, current.status, to);
  const n = await trx("instances")
    .where({ id, status: current.status })
    .whereIn("status", instanceStatesAllowing(to))
    .update({ ...extra, status: to, updated_at: at });
  if (n === 0) {
    const now = (await trx("instances").where({ id }).first("status")) as { status: InstanceStatus };
    throw new IllegalInstanceTransitionError(id, now.status, to);
  }
  return current.status;
}
