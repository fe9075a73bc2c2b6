import type { Knex } from "knex";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { LIVE_ATTACHMENT_STATUSES, type AttachmentStatus } from "./disk-attachment.js";

/**
 * The attachment state machine (000 §3.1 挂载状态), plus `detached`: the row's end (soft delete).
 *
 *   (new) ─▶ attaching ──agent ok──▶ attached ──DetachDisk──▶ detaching ──agent ok──▶ detached
 *   (new, stopped instance) ───────▶ attached                     │ agent error ▼
 *                attaching ──agent error──▶ failed ──▶ detached    └──▶ attached (error kept)
 *   attached ──instance start (re-applied to the new domain)──▶ attaching
 *
 * Leaving attaching/attached/detaching for failed or detached releases the disk (its counter).
 */
const ALLOWED: Record<AttachmentStatus, readonly (AttachmentStatus | "detached")[]> = {
  attaching: ["attached", "failed"],
  attached: ["detaching", "attaching"],
  detaching: ["detached", "attached"],
  failed: ["detached"],
};

export type AttachmentTarget = AttachmentStatus | "detached";

export function canAttachmentTransition(from: AttachmentStatus, to: AttachmentTarget): boolean {
  return ALLOWED[from].includes(to);
}

export function holdsDisk(s: AttachmentTarget): boolean {
  return (LIVE_ATTACHMENT_STATUSES as readonly string[]).includes(s);
}

export class IllegalAttachmentTransitionError extends FailedPreconditionError {
  override readonly name = "IllegalAttachmentTransitionError";
  constructor(
    readonly attachmentId: string,
    readonly from: AttachmentStatus,
    readonly to: AttachmentTarget,
    action = `move disk attachment ${attachmentId}`,
  ) {
    super(`Cannot ${action}: it is ${from}, and an attachment cannot go from ${from} to ${to}`, {
      reason: "ILLEGAL_ATTACHMENT_TRANSITION",
      metadata: { attachment_id: attachmentId, from, to },
    });
  }
}

/**
 * Moves an attachment with a guarded update (`WHERE status = <what was read>`), and releases the
 * disk in the same transaction when the move ends its hold: the counter drops and the disk goes
 * back to available with its last attachment (guarded too, so a racing attach is never undone).
 */
export async function transitionAttachment(
  trx: Knex.Transaction,
  id: string,
  to: AttachmentTarget,
  at: Date,
  extra: Record<string, unknown> = {},
): Promise<AttachmentStatus> {
  const row = (await trx("instance_private_data_disk_attachments")
    .where({ id })
    .whereNull("deleted_at")
    .first("status", "disk_id")) as { status: AttachmentStatus; disk_id: string } | undefined;
  if (!row) throw new NotFoundError("disk attachment", id);
  if (!canAttachmentTransition(row.status, to)) throw new IllegalAttachmentTransitionError(id, row.status, to);
  const columns =
    to === "detached"
      ? { ...extra, deleted_at: at, detached_at: at, updated_at: at }
      : { ...extra, status: to, updated_at: at };
  const n = await trx("instance_private_data_disk_attachments")
    .where({ id, status: row.status })
    .whereNull("deleted_at")
    .update(columns);
  if (n === 0) {
    const now = (await trx("instance_private_data_disk_attachments").where({ id }).first("status")) as {
      status: AttachmentStatus;
    };
    throw new IllegalAttachmentTransitionError(id, now.status, to);
  }
  if (holdsDisk(row.status) && !holdsDisk(to)) await releaseDisk(trx, row.disk_id, at);
  return row.status;
}

/** One hold fewer on the disk; available again when it was the last. */
export async function releaseDisk(trx: Knex.Transaction, diskId: string, at: Date): Promise<void> {
  await trx("private_data_disks")
    .where({ id: diskId })
    .update({
      attachment_count: trx.raw("attachment_count - 1"),
      status: trx.raw("CASE WHEN attachment_count = 1 AND status = 'attached' THEN 'available' ELSE status END"),
      updated_at: at,
    });
}
