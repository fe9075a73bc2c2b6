import type { Knex } from "knex";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { SET_STATUSES, type InstanceSet, type SetStatus } from "./instance-set.js";

/**
 * The instance set status of 000 §2.2 / §2.5.3:
 *
 *   active ──archive──▶ archived ──unarchive──▶ active
 *   active / archived ──delete──▶ deleted (soft delete; links and memberships end)
 *
 * Only an active set takes new instances or members.
 */
const ALLOWED: Record<SetStatus, readonly SetStatus[]> = {
  active: ["archived", "deleted"],
  archived: ["active", "deleted"],
  deleted: [],
};

export function canSetTransition(from: SetStatus, to: SetStatus): boolean {
  return ALLOWED[from].includes(to);
}

export function setStatesAllowing(to: SetStatus): SetStatus[] {
  return SET_STATUSES.filter((from) => canSetTransition(from, to));
}

export class IllegalSetTransitionError extends FailedPreconditionError {
  override readonly name = "IllegalSetTransitionError";
  constructor(
    readonly instanceSetId: string,
    readonly from: SetStatus,
    readonly to: SetStatus,
  ) {
    super(`Cannot move instance set ${instanceSetId} to ${to}: it is ${from}`, {
      reason: "ILLEGAL_INSTANCE_SET_TRANSITION",
      metadata: { instance_set_id: instanceSetId, from, to },
    });
  }
}

/**
 * Moves a set's status with a guarded update (`WHERE status IN (<states allowing it>)`), so a racing
 * writer is never overwritten; `extra` columns go in the same statement. Returns the previous status.
 */
export async function transitionSet(
  trx: Knex.Transaction,
  id: string,
  to: SetStatus,
  at: Date,
  extra: Record<string, unknown> = {},
): Promise<SetStatus> {
  const current = (await trx("instance_sets").where({ id }).first("status")) as { status: SetStatus } | undefined;
  if (!current) throw new NotFoundError("instance set", id);
  if (!canSetTransition(current.status, to)) throw new IllegalSetTransitionError(id, current.status, to);
  const n = await trx("instance_sets")
    .where({ id, status: current.status })
    .whereIn("status", setStatesAllowing(to))
    .update({ ...extra, status: to, updated_at: at });
  if (n === 0) {
    const now = (await trx("instance_sets").where({ id }).first("status")) as { status: SetStatus };
    throw new IllegalSetTransitionError(id, now.status, to);
  }
  return current.status;
}

/** Only an active set takes new instances and members (an archived one is kept for review, 000 §2.5.3). */
export function assertSetAcceptsNew(set: InstanceSet, what: string): void {
  if (set.status !== "active")
    throw new FailedPreconditionError(
      `Cannot ${what} instance set ${set.id}: it is ${set.status}; only an active set takes new instances and members`,
      { reason: "INSTANCE_SET_NOT_ACTIVE", metadata: { instance_set_id: set.id, status: set.status } },
    );
}
