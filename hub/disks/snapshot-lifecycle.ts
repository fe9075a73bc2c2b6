import type { Knex } from "knex";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { DISK_SNAPSHOT_STATUS, type DiskSnapshotStatus } from "./disk-enums.js";

/**
 * A disk snapshot: creating ──gateway: taken and protected──▶ available ──delete──▶ deleting ──▶
 * (soft-deleted); a failure or an expired command moves it to error (deletable, with the reason).
 */
const ALLOWED: Record<DiskSnapshotStatus, readonly DiskSnapshotStatus[]> = {
  creating: ["available", "error"],
  available: ["deleting", "error"],
  error: ["deleting"],
  deleting: ["error"],
};

export function canSnapshotTransition(from: DiskSnapshotStatus, to: DiskSnapshotStatus): boolean {
  return ALLOWED[from].includes(to);
}

export function snapshotStatesAllowing(to: DiskSnapshotStatus): DiskSnapshotStatus[] {
  return DISK_SNAPSHOT_STATUS.dbValues.filter((from) => canSnapshotTransition(from, to));
}

export class IllegalSnapshotTransitionError extends FailedPreconditionError {
  override readonly name = "IllegalSnapshotTransitionError";
  constructor(id: string, from: DiskSnapshotStatus, to: DiskSnapshotStatus, action = `move snapshot ${id}`) {
    super(`Cannot ${action}: it is ${from}, and a snapshot cannot go from ${from} to ${to}`, {
      reason: "ILLEGAL_SNAPSHOT_TRANSITION",
      metadata: { snapshot_id: id, from, to },
    });
  }
}

/** Guarded status move of a snapshot (same shape as transitionDisk). */
export async function transitionSnapshot(
  trx: Knex.Transaction | Knex,
  id: string,
  to: DiskSnapshotStatus,
  at: Date,
  extra: Record<string, unknown> = {},
  action?: string,
): Promise<DiskSnapshotStatus> {
  const current = (await trx("private_data_disk_snapshots").where({ id }).whereNull("deleted_at").first("status")) as
    { status: DiskSnapshotStatus } | undefined;
  if (!current) throw new NotFoundError("disk snapshot", id);
  if (!canSnapshotTransition(current.status, to))
    throw new IllegalSnapshotTransitionError(id, current.status, to, action);
  const n = await trx("private_data_disk_snapshots")
    .where({ id, status: current.status })
    .whereNull("deleted_at")
    .whereIn("status", snapshotStatesAllowing(to))
    .update({ ...extra, status: to, updated_at: at });
  if (n === 0) {
    const now = (await trx("private_data_disk_snapshots").where({ id }).first("status")) as {
      status: DiskSnapshotStatus;
    };
    throw new IllegalSnapshotTransitionError(id, now.status, to, action);
  }
  return current.status;
}
