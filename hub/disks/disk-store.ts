import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { NotFoundError } from "../domain/errors.js";
import type { Disk } from "./disk.js";
import type { DiskStatus, DiskType } from "./disk-enums.js";

const COLUMNS = [
  "id",
  "user_id",
  "tenant_id",
  "name",
  "description",
  "size_gb",
  "provisioned_size_gb",
  "disk_type",
  "status",
  "share_mode",
  "max_attachments",
  "rbd_image_name",
  "rbd_pool",
  "storage_pool_id",
  "parent_snapshot_id",
  "operation_id",
  "operation_deadline",
  "last_error",
  "created_at",
  "updated_at",
  "created_by",
  "updated_by",
].map((c) => `private_data_disks.${c}`);

type Row = Record<string, unknown>;

function toDisk(r: Row): Disk {
  return {
    id: r.id as string,
    userId: r.user_id as string,
    tenantId: r.tenant_id as string,
    name: r.name as string,
    description: r.description as string,
    sizeGb: Number(r.size_gb),
    provisionedSizeGb: Number(r.provisioned_size_gb),
    diskType: r.disk_type as Disk["diskType"],
    status: r.status as Disk["status"],
    shareMode: r.share_mode as Disk["shareMode"],
    maxAttachments: Number(r.max_attachments),
    rbdImageName: r.rbd_image_name as string,
    rbdPool: r.rbd_pool as string,
    storagePoolId: r.storage_pool_id as string,
    parentSnapshotId: (r.parent_snapshot_id as string | null) ?? null,
    operationId: (r.operation_id as string | null) ?? null,
    operationDeadline: r.operation_deadline ? new Date(r.operation_deadline as string) : null,
    lastError: r.last_error as string,
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
    createdBy: (r.created_by as string | null) ?? null,
    updatedBy: (r.updated_by as string | null) ?? null,
  };
}

/** A live (not soft-deleted) disk; `lock` takes FOR UPDATE; `includeDeleted` also finds a deleted one. */
export async function getDisk(
  knex: Knex,
  id: string,
  options: { lock?: boolean; includeDeleted?: boolean } = {},
): Promise<Disk> {
  const q = knex("private_data_disks").where("private_data_disks.id", id).first(COLUMNS);
  if (!options.includeDeleted) q.whereNull("private_data_disks.deleted_at");
  if (options.lock) q.forUpdate();
  const row = (await q) as Row | undefined;
  if (!row) throw new NotFoundError("disk", id);
  return toDisk(row);
}

export interface DiskListQuery {
  tenantId: string | null;
  userId: string | null;
  status: DiskStatus | null;
  diskType: DiskType | null;
  storagePoolId: string | null;
  parentSnapshotId: string | null;
}

/** Live disks in creation order (ids are v7 UUIDs), keyset-paged on id. */
export async function listDisks(knex: Knex, filter: DiskListQuery, page: PageRequest): Promise<Page<Disk>> {
  const q = knex("private_data_disks")
    .whereNull("private_data_disks.deleted_at")
    .orderBy("private_data_disks.id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (filter.tenantId) q.where("private_data_disks.tenant_id", filter.tenantId);
  if (filter.userId) q.where("private_data_disks.user_id", filter.userId);
  if (filter.status) q.where("private_data_disks.status", filter.status);
  if (filter.diskType) q.where("private_data_disks.disk_type", filter.diskType);
  if (filter.storagePoolId) q.where("private_data_disks.storage_pool_id", filter.storagePoolId);
  if (filter.parentSnapshotId) q.where("private_data_disks.parent_snapshot_id", filter.parentSnapshotId);
  if (page.after) q.where("private_data_disks.id", ">", page.after[0]!);
  return pageOf(((await q) as Row[]).map(toDisk), page, (d) => [d.id]);
}

/** Ids of disks with an operation in flight (the reconciler's work list, oldest change first). */
export async function unconvergedDiskIds(knex: Knex, limit: number): Promise<string[]> {
  return (await knex("private_data_disks")
    .whereNull("deleted_at")
    .where((q) =>
      q.whereIn("status", ["creating", "deleting"]).orWhereRaw("provisioned_size_gb <> size_gb AND status <> 'error'"),
    )
    .orderBy("updated_at")
    .limit(limit)
    .pluck("id")) as string[];
}
