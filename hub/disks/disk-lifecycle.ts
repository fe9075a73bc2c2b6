import type { Knex } from "knex";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { DISK_STATUS, type DiskStatus } from "./disk-enums.js";

/**
 * The private data disk state machine of 000 §3.1:
 *
 *   creating ──gateway: image exists──▶ available ◀──attach / last detach──▶ attached
 *      │                                  │  ▲                                  │
 *      └──failure / deadline──▶ error ◀───┘  └── (retry resize) ── error        │
 *                                 │                                             │
 *   available / error ──delete──▶ deleting ──gateway: image gone──▶ (soft-deleted)
 *
 * An attached disk cannot be deleted (detach first, 000 §3.1 "删除前必须先卸载"). A resize keeps
 * the status (online, 000 §3.0.2); its failure moves the disk to error with the reason.
 */
const ALLOWED: Record<DiskStatus, readonly DiskStatus[]> = {
  creating: ["available", "error"],
  available: ["attached", "deleting", "error"],
  attached: ["available", "error"],
  // From error: delete, or a retried operation that converged (the gateway reported the image).
  error: ["deleting", "available", "attached"],
  // A removal that failed leaves the disk in error with the reason; success soft-deletes the row.
  deleting: ["error"],
};

export function canDiskTransition(from: DiskStatus, to: DiskStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The statuses from which a move to `to` is legal: the WHERE clause of a guarded update. */
export function diskStatesAllowing(to: DiskStatus): DiskStatus[] {
  return DISK_STATUS.dbValues.filter((from) => canDiskTransition(from, to));
}

export class IllegalDiskTransitionError extends FailedPreconditionError {
  override readonly name = "IllegalDiskTransitionError";
  constructor(
    readonly diskId: string,
    readonly from: DiskStatus,
    readonly to: DiskStatus,
    action = `move disk ${diskId}`,
  ) {
    super(`Cannot ${action}: it is ${from}, and a disk cannot go from ${from} to ${to}`, {
      reason: from === "attached" && to === "deleting" ? "DISK_ATTACHED" : "ILLEGAL_DISK_TRANSITION",
      metadata: { disk_id: diskId, from, to },
    });
  }
}

/** Throws IllegalDiskTransitionError unless `from → to` is in the table. */
export function assertDiskTransition(id: string, from: DiskStatus, to: DiskStatus, action?: string): void {
  if (!canDiskTransition(from, to)) throw new IllegalDiskTransitionError(id, from, to, action);
}

/**
 * Moves a disk's status with a guarded update (`WHERE status = <read> AND status IN (<allowing>)`),
 * so a racing writer (an attach, another delete) is never overwritten; `extra` columns are written
 * in the same statement. Returns the previous status.
 */
export async function transitionDisk(
  trx: Knex.Transaction | Knex,
  id: string,
  to: DiskStatus,
  at: Date,
  extra: Record<string, unknown> = {},
  action?: string,
): Promise<DiskStatus> {
  const current = (await trx("private_data_disks").where({ id }).whereNull("deleted_at").first("status")) as
    { status: DiskStatus } | undefined;
  if (!current) throw new NotFoundError("disk", id);
  assertDiskTransition(id, current.status, to, action);
  const n = await trx("private_data_disks")
    .where({ id, status: current.status })
    .whereNull("deleted_at")
    .whereIn("status", diskStatesAllowing(to))
    .update({ ...extra, status: to, updated_at: at });
  if (n === 0) {
    const now = (await trx("private_data_disks").where({ id }).first("status")) as { status: DiskStatus };
    throw new IllegalDiskTransitionError(id, now.status, to, action);
  }
  return current.status;
}
