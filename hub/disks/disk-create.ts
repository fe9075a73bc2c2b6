import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import { rbdImageNameOf, type Disk, type StoragePool } from "./disk.js";
import type { DiskShareMode, DiskType } from "./disk-enums.js";
import { getVisibleSnapshot } from "./disk-access.js";
import { assertDiskNameFree, diskOwnerOf } from "./disk-owner.js";
import { choosePool } from "./disk-placement.js";
import { chargeDiskQuota } from "./disk-quota.js";
import { getDisk } from "./disk-store.js";
import { getStoragePool } from "./storage-pool-store.js";
import { takePoolSpace } from "./pool-space.js";

export interface NewDiskInput {
  name: string;
  description: string;
  /** Empty: the caller. */
  userId: string;
  sizeGb: number;
  shareMode: DiskShareMode;
  maxAttachments: number;
}

export interface DiskTimeouts {
  createTimeoutMs: number;
  resizeTimeoutMs: number;
  deleteTimeoutMs: number;
  snapshotTimeoutMs: number;
}

/** Inserts a disk `creating` with its quota charge, pool space and audit row, in one transaction. */
async function insertDisk(
  knex: Knex,
  caller: Caller,
  input: NewDiskInput & { diskType: DiskType; parentSnapshotId: string | null },
  owner: { userId: string; tenantId: string },
  pool: StoragePool,
  timeoutMs: number,
  action: string,
  /** Runs first in the transaction (a clone share-locks its parent disk). */
  guard?: (trx: Knex.Transaction) => Promise<void>,
): Promise<Disk> {
  const id = newId();
  return knex.transaction(async (trx) => {
    await guard?.(trx);
    await assertDiskNameFree(trx, owner.userId, input.name);
    // Quota first (it locks tenant → groups → user), then the pool row, then the insert (whose
    // foreign keys share-lock those rows): one order for every create, so creates never deadlock.
    await chargeDiskQuota(trx, { id, ...owner, sizeGb: input.sizeGb });
    await takePoolSpace(trx, pool.id, input.sizeGb, caller.at);
    await trx("private_data_disks").insert({
      id,
      user_id: owner.userId,
      tenant_id: owner.tenantId,
      name: input.name,
      description: input.description,
      size_gb: input.sizeGb,
      provisioned_size_gb: 0,
      disk_type: input.diskType,
      status: "creating",
      share_mode: input.shareMode,
      max_attachments: input.maxAttachments,
      rbd_image_name: rbdImageNameOf(id),
      rbd_pool: pool.name,
      storage_pool_id: pool.id,
      parent_snapshot_id: input.parentSnapshotId,
      operation_id: newId(),
      operation_deadline: new Date(caller.at.getTime() + timeoutMs),
      created_at: caller.at,
      updated_at: caller.at,
      created_by: caller.principal.userId,
      updated_by: caller.principal.userId,
    });
    const after = await getDisk(trx, id);
    await recordChange(trx, caller, { tenantId: owner.tenantId, action, targetType: "disk", targetId: id, after });
    return after;
  });
}

/** CreateDisk (000 §3.0.2 steps 1–3): quota and pool space now; the gateway creates the image. */
export async function createDisk(
  knex: Knex,
  caller: Caller,
  input: NewDiskInput & { diskType: DiskType; edgeDataCenterId: string | null },
  t: DiskTimeouts,
): Promise<Disk> {
  const owner = await diskOwnerOf(knex, caller, input.userId);
  const pool = await choosePool(knex, input.diskType, input.sizeGb, input.edgeDataCenterId);
  return insertDisk(knex, caller, { ...input, parentSnapshotId: null }, owner, pool, t.createTimeoutMs, "disk.create");
}

/**
 * CloneDisk (000 §3.2 克隆): a new disk from an available (protected) snapshot, in the parent's
 * pool, charged to the new owner's quota. Size 0 takes the snapshot's; smaller is refused.
 */
export async function cloneDisk(
  knex: Knex,
  caller: Caller,
  snapshotId: string,
  input: NewDiskInput,
  t: DiskTimeouts,
): Promise<Disk> {
  const snap = await getVisibleSnapshot(knex, caller.principal, snapshotId);
  if (snap.status !== "available" || !snap.protected)
    throw new FailedPreconditionError(
      `Cannot clone snapshot ${snapshotId}: it is ${snap.status}${snap.protected ? "" : " and not yet protected"}; clone an available snapshot`,
      { reason: "SNAPSHOT_NOT_AVAILABLE", metadata: { snapshot_id: snapshotId, status: snap.status } },
    );
  const sizeGb = input.sizeGb === 0 ? snap.sizeGb : input.sizeGb;
  if (sizeGb < snap.sizeGb)
    throw new InvalidArgumentError(
      "disk.size_gb",
      `must be at least the snapshot's ${snap.sizeGb} GB (a clone cannot be smaller); got ${sizeGb}`,
    );
  const parent = await getDisk(knex, snap.diskId);
  const owner = await diskOwnerOf(knex, caller, input.userId);
  const pool = await getStoragePool(knex, parent.storagePoolId);
  return insertDisk(
    knex,
    caller,
    { ...input, sizeGb, diskType: parent.diskType, parentSnapshotId: snap.id },
    owner,
    pool,
    t.createTimeoutMs,
    "disk.clone",
    (trx) => assertParentLive(trx, parent.id, snap.id),
  );
}

/**
 * A clone's parent must not be on its way out: its row is share-locked (a DeleteDisk, which locks it
 * for update, waits for the clone to commit and then sees it) and must be available or attached.
 */
async function assertParentLive(trx: Knex.Transaction, parentId: string, snapshotId: string): Promise<void> {
  const row = (await trx("private_data_disks")
    .where({ id: parentId })
    .whereNull("deleted_at")
    .forShare()
    .first("status")) as { status: string } | undefined;
  if (!row || (row.status !== "available" && row.status !== "attached"))
    throw new FailedPreconditionError(
      `Cannot clone snapshot ${snapshotId}: its disk ${parentId} is ${row?.status ?? "gone"}`,
      { reason: "DISK_NOT_READY", metadata: { disk_id: parentId, status: row?.status ?? "deleted" } },
    );
}
