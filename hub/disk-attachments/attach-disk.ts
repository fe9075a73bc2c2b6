import type { Knex } from "knex";
import { newId } from "../db/ids.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  ResourceExhaustedError,
} from "../domain/errors.js";
import type { Instance } from "../instances/instance.js";
import { queueAttach } from "./attachment-agent-link.js";
import { recordDiskEvent } from "./attachment-events.js";
import { assertDiskRuleAllows } from "./attachment-rules.js";
import type { AttachableDisk, AttachmentOrigin, DiskAttachment, MountMode } from "./disk-attachment.js";
import { ATTACHMENTS, attachmentOf, getAttachment, liveAttachmentsOfInstance } from "./disk-attachment-store.js";

export interface AttachInput {
  /** Read with its row lock held (FOR UPDATE): one attach per instance at a time. */
  instance: Instance;
  disk: AttachableDisk;
  /** "" = the next free /mnt/data{n}. */
  mountPath: string;
  /** null = the disk's default: rw for exclusive, ro for shared. */
  mountMode: MountMode | null;
  origin: AttachmentOrigin;
  actorId: string | null;
  at: Date;
}

const TARGETS = "bcdefghijklmnopqrstuvwxyz".split("").map((c) => `vd${c}`);
// An absolute Linux path or a Windows drive ("D:\"), as 000 §3.1 mount_path shows.
const MOUNT_PATH = /^(\/[^\0]*|[A-Za-z]:\\[^\0]*)$/;

export function validateMountPath(path: string): void {
  if (path.length > 255) throw new InvalidArgumentError("mount_path", "must be at most 255 characters");
  if (!MOUNT_PATH.test(path))
    throw new InvalidArgumentError("mount_path", `"${path}" is not an absolute path (/mnt/data1) or a drive (D:\\)`);
  if (/(^|\/)\.\.(\/|$)/.test(path)) throw new InvalidArgumentError("mount_path", `"${path}" contains ".."`);
}

function defaultMountPath(used: ReadonlySet<string>): string {
  for (let n = 1; ; n++) if (!used.has(`/mnt/data${n}`)) return `/mnt/data${n}`;
}

/** The mode a disk mounts in: shared disks read-only only (000 §3.1 共享限制). */
export function mountModeFor(disk: AttachableDisk, requested: MountMode | null): MountMode {
  if (disk.shareMode === "shared") {
    if (requested === "rw")
      throw new InvalidArgumentError(
        "mount_mode",
        `disk ${disk.id} is shared, and a shared disk mounts read-only (ro) only (000 §3.1 共享限制)`,
      );
    return "ro";
  }
  return requested ?? "rw";
}

/**
 * One attachment, in the caller's transaction (000 §8.2.1): checks, the disk's hold taken by a
 * guarded increment (the database refuses a second exclusive or an N+1th shared attachment), the
 * row, and — for a running instance — the attach_disk command. A stopped instance's attachment is
 * recorded as attached and applied to its domain when it next starts (onInstanceRunning).
 */
export async function attachInTransaction(trx: Knex.Transaction, input: AttachInput): Promise<DiskAttachment> {
  const { instance: i, disk, at } = input;
  const running = i.status === "running";
  if (!running && i.status !== "stopped")
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id} to instance ${i.id}: it is ${i.status}; disks attach to running or stopped instances`,
      { reason: "INSTANCE_NOT_RUNNING_OR_STOPPED", metadata: { instance_id: i.id, status: i.status } },
    );
  if (disk.status !== "available" && disk.status !== "attached")
    throw new FailedPreconditionError(`Cannot attach disk ${disk.id}: it is ${disk.status}, not available`, {
      reason: "DISK_NOT_AVAILABLE",
      metadata: { disk_id: disk.id, status: disk.status },
    });
  const mode = mountModeFor(disk, input.mountMode);
  const existing = await attachmentOf(trx, i.id, disk.id);
  if (existing && existing.status !== "failed")
    throw new AlreadyExistsError(
      "disk attachment",
      `disk ${disk.id} is already attached to instance ${i.id} (attachment ${existing.id}, ${existing.status})`,
    );
  const held = await liveAttachmentsOfInstance(trx, i.id);
  await assertDiskRuleAllows(trx, i, disk, held.length);
  const paths = new Set(held.map((a) => a.mountPath));
  if (input.mountPath) {
    validateMountPath(input.mountPath);
    if (paths.has(input.mountPath))
      throw new AlreadyExistsError("disk attachment", `instance ${i.id} already mounts a disk at ${input.mountPath}`);
  }
  const devs = new Set(held.map((a) => a.targetDev));
  const targetDev = TARGETS.find((t) => !devs.has(t));
  if (!targetDev)
    throw new ResourceExhaustedError(`Cannot attach disk ${disk.id} to instance ${i.id}: no free device (vdb…vdz)`, {
      reason: "NO_FREE_DEVICE",
      metadata: { instance_id: i.id },
    });
  await takeHold(trx, disk, at);
  // A failed attempt of the same pair stays visible until now; the new attachment replaces it.
  if (existing) await trx(ATTACHMENTS).where({ id: existing.id }).update({ deleted_at: at, updated_at: at });
  const id = newId();
  await trx(ATTACHMENTS).insert({
    id,
    instance_id: i.id,
    disk_id: disk.id,
    mount_path: input.mountPath || defaultMountPath(paths),
    mount_mode: mode,
    share_mode: disk.shareMode,
    target_dev: targetDev,
    status: running ? "attaching" : "attached",
    origin: input.origin,
    attached_at: running ? null : at,
    attached_by: input.actorId,
    created_at: at,
    updated_at: at,
    created_by: input.actorId,
    updated_by: input.actorId,
  });
  if (running) {
    const command = await queueAttach(
      trx,
      { id, targetDev, mountMode: mode, shareMode: disk.shareMode },
      disk,
      { computeMachineId: i.computeMachineId!, virtualMachineId: i.virtualMachineId! },
      at,
      input.actorId,
    );
    await trx(ATTACHMENTS).where({ id }).update({ command_id: command.id });
  }
  await recordDiskEvent(trx, {
    instanceId: i.id,
    message: running
      ? `Attaching disk ${disk.name} (${disk.id}) as ${targetDev} (${mode})`
      : `Disk ${disk.name} (${disk.id}) recorded as ${targetDev} (${mode}); it attaches when the instance starts`,
    attributes: { attachment_id: id, disk_id: disk.id, origin: input.origin },
    at,
  });
  return getAttachment(trx, id);
}

/**
 * The disk's hold: one guarded statement, so concurrent attaches serialise on the disk's row and at
 * most max_attachments (1 when exclusive) succeed; the CHECK on attachment_count is the backstop.
 */
async function takeHold(trx: Knex.Transaction, disk: AttachableDisk, at: Date): Promise<void> {
  const n = await trx("private_data_disks")
    .where({ id: disk.id })
    .whereNull("deleted_at")
    .whereIn("status", ["available", "attached"])
    .where("attachment_count", "<", trx.ref("max_attachments"))
    .update({ attachment_count: trx.raw("attachment_count + 1"), status: "attached", updated_at: at });
  if (n === 1) return;
  const now = (await trx("private_data_disks").where({ id: disk.id }).first("status", "attachment_count")) as {
    status: string;
    attachment_count: number;
  };
  const meta = { disk_id: disk.id, max_attachments: String(disk.maxAttachments) };
  if (now.status !== "available" && now.status !== "attached")
    throw new FailedPreconditionError(`Cannot attach disk ${disk.id}: it is ${now.status}, not available`, {
      reason: "DISK_NOT_AVAILABLE",
      metadata: { disk_id: disk.id, status: now.status },
    });
  if (disk.shareMode === "exclusive") {
    const other = (await trx(ATTACHMENTS)
      .where({ disk_id: disk.id })
      .whereNull("deleted_at")
      .whereIn("status", ["attaching", "attached", "detaching"])
      .first("instance_id")) as { instance_id: string } | undefined;
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id}: it is exclusive and attached to instance ${other?.instance_id ?? "another instance"} (000 §3.1 独占模式)`,
      { reason: "DISK_IN_USE", metadata: { ...meta, instance_id: other?.instance_id ?? "" } },
    );
  }
  throw new ResourceExhaustedError(
    `Cannot attach disk ${disk.id}: it is shared and already attached to ${disk.maxAttachments} instances (max_attachments)`,
    { reason: "MAX_ATTACHMENTS_REACHED", metadata: meta },
  );
}
