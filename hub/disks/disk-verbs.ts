import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import type { Disk } from "./disk.js";
import type { DiskTimeouts } from "./disk-create.js";
import { getVisibleDisk } from "./disk-access.js";
import { assertDiskTransition, transitionDisk } from "./disk-lifecycle.js";
import { assertDiskNameFree } from "./disk-owner.js";
import { chargeDiskQuota, releaseDiskQuota } from "./disk-quota.js";
import { getDisk } from "./disk-store.js";
import { takePoolSpace } from "./pool-space.js";
import { liveClonesOf, liveSnapshotsOf } from "./snapshot-store.js";
import { validSizeGb } from "./disk-rules.js";

/** One disk mutation: lock the row, apply, audit, in one transaction. */
async function applyToDisk(
  knex: Knex,
  caller: Caller,
  id: string,
  action: string,
  plan: (d: Disk, trx: Knex.Transaction) => Promise<void>,
): Promise<Disk> {
  return knex.transaction(async (trx) => {
    const before = await getVisibleDisk(trx, caller.principal, id, { lock: true });
    await plan(before, trx);
    const after = await getDisk(trx, id, { includeDeleted: true });
    await recordChange(trx, caller, {
      tenantId: before.tenantId,
      action: `disk.${action}`,
      targetType: "disk",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

/** UpdateDisk: name and description only (status, size and placement have verbs of their own). */
export function updateDisk(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  patch: { name?: string; description?: string },
): Promise<Disk> {
  return applyToDisk(knex, caller, id, "update", async (d, trx) => {
    checkEtag(etag, d, "disk", id);
    if (patch.name !== undefined) await assertDiskNameFree(trx, d.userId, patch.name, id);
    await trx("private_data_disks")
      .where({ id })
      .update({ ...patch, updated_at: caller.at, updated_by: caller.principal.userId });
  });
}

/**
 * ResizeDisk (000 §3.0.2 在线扩容): grow only, attached or not; the larger size is charged to quota
 * and taken from the pool now, and the reconciler asks the gateway to resize the image.
 */
export function resizeDisk(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  sizeGb: number,
  t: DiskTimeouts,
): Promise<Disk> {
  validSizeGb("size_gb", sizeGb);
  return applyToDisk(knex, caller, id, "resize", async (d, trx) => {
    checkEtag(etag, d, "disk", id);
    if (sizeGb < d.sizeGb)
      throw new InvalidArgumentError(
        "size_gb",
        `must not shrink the disk (000 §3.0.2): it has ${d.sizeGb} GB; got ${sizeGb}`,
      );
    if (sizeGb === d.sizeGb)
      throw new InvalidArgumentError("size_gb", `must be larger than the disk's current ${d.sizeGb} GB`);
    if (d.status !== "available" && d.status !== "attached")
      throw new FailedPreconditionError(
        `Cannot resize disk ${id}: it is ${d.status}; only an available or attached disk grows`,
        {
          reason: "DISK_NOT_READY",
          metadata: { disk_id: id, status: d.status },
        },
      );
    if (d.provisionedSizeGb !== d.sizeGb)
      throw new FailedPreconditionError(`Cannot resize disk ${id}: a resize to ${d.sizeGb} GB is still running`, {
        reason: "DISK_OPERATION_IN_PROGRESS",
        metadata: { disk_id: id },
      });
    await chargeDiskQuota(trx, { ...d, sizeGb });
    await takePoolSpace(trx, d.storagePoolId, sizeGb - d.sizeGb, caller.at);
    await trx("private_data_disks")
      .where({ id })
      .update({
        size_gb: sizeGb,
        operation_id: newId(),
        operation_deadline: new Date(caller.at.getTime() + t.resizeTimeoutMs),
        last_error: "",
        updated_at: caller.at,
        updated_by: caller.principal.userId,
      });
  });
}

/**
 * DeleteDisk (000 §3.2): only an unattached disk (available, or error); refused while a live clone
 * depends on one of its snapshots. The quota is returned now (§10.4.1 "删除后立即释放配额"); the
 * gateway removes the image with its snapshots and the record is soft-deleted on its report.
 */
export function deleteDisk(knex: Knex, caller: Caller, id: string, t: DiskTimeouts): Promise<Disk> {
  return applyToDisk(knex, caller, id, "delete", async (d, trx) => {
    assertDiskTransition(id, d.status, "deleting", `delete disk ${id}`);
    const snaps = await liveSnapshotsOf(trx, id);
    const clones = await liveClonesOf(
      trx,
      snaps.map((s) => s.id),
    );
    if (clones.length > 0)
      throw new FailedPreconditionError(
        `Cannot delete disk ${id}: disk ${clones[0]!.id} was cloned from its snapshot ${clones[0]!.parent}; delete the clones first`,
        { reason: "DISK_HAS_CLONES", metadata: { disk_id: id, clone_id: clones[0]!.id } },
      );
    await transitionDisk(
      trx,
      id,
      "deleting",
      caller.at,
      {
        operation_id: newId(),
        operation_deadline: new Date(caller.at.getTime() + t.deleteTimeoutMs),
        last_error: "",
        updated_by: caller.principal.userId,
      },
      `delete disk ${id}`,
    );
    await releaseDiskQuota(trx, id);
  });
}
