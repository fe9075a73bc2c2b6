import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { NotFoundError } from "../domain/errors.js";
import type { DiskSnapshot } from "./disk.js";
import type { DiskSnapshotStatus } from "./disk-enums.js";

const COLUMNS = [
  "id",
  "disk_id",
  "user_id",
  "tenant_id",
  "name",
  "description",
  "size_gb",
  "rbd_snapshot_name",
  "status",
  "protected",
  "operation_id",
  "operation_deadline",
  "last_error",
  "created_at",
  "updated_at",
].map((c) => `private_data_disk_snapshots.${c}`);

type Row = Record<string, unknown>;

function toSnapshot(r: Row): DiskSnapshot {
  return {
    id: r.id as string,
    diskId: r.disk_id as string,
    userId: r.user_id as string,
    tenantId: r.tenant_id as string,
    name: r.name as string,
    description: r.description as string,
    sizeGb: Number(r.size_gb),
    rbdSnapshotName: r.rbd_snapshot_name as string,
    status: r.status as DiskSnapshot["status"],
    protected: Boolean(r.protected),
    operationId: (r.operation_id as string | null) ?? null,
    operationDeadline: r.operation_deadline ? new Date(r.operation_deadline as string) : null,
    lastError: r.last_error as string,
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

export async function getSnapshot(
  knex: Knex,
  id: string,
  options: { lock?: boolean; includeDeleted?: boolean } = {},
): Promise<DiskSnapshot> {
  const q = knex("private_data_disk_snapshots").where("private_data_disk_snapshots.id", id).first(COLUMNS);
  if (!options.includeDeleted) q.whereNull("private_data_disk_snapshots.deleted_at");
  if (options.lock) q.forUpdate();
  const row = (await q) as Row | undefined;
  if (!row) throw new NotFoundError("disk snapshot", id);
  return toSnapshot(row);
}

export interface SnapshotListQuery {
  tenantId: string | null;
  userId: string | null;
  diskId: string | null;
  status: DiskSnapshotStatus | null;
}

export async function listSnapshots(
  knex: Knex,
  filter: SnapshotListQuery,
  page: PageRequest,
): Promise<Page<DiskSnapshot>> {
  const q = knex("private_data_disk_snapshots")
    .whereNull("private_data_disk_snapshots.deleted_at")
    .orderBy("private_data_disk_snapshots.id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (filter.tenantId) q.where("private_data_disk_snapshots.tenant_id", filter.tenantId);
  if (filter.userId) q.where("private_data_disk_snapshots.user_id", filter.userId);
  if (filter.diskId) q.where("private_data_disk_snapshots.disk_id", filter.diskId);
  if (filter.status) q.where("private_data_disk_snapshots.status", filter.status);
  if (page.after) q.where("private_data_disk_snapshots.id", ">", page.after[0]!);
  return pageOf(((await q) as Row[]).map(toSnapshot), page, (s) => [s.id]);
}

/** Live snapshots of a disk (a delete removes them with the image). */
export async function liveSnapshotsOf(knex: Knex, diskId: string): Promise<DiskSnapshot[]> {
  return (
    (await knex("private_data_disk_snapshots")
      .where("private_data_disk_snapshots.disk_id", diskId)
      .whereNull("private_data_disk_snapshots.deleted_at")
      .orderBy("private_data_disk_snapshots.id")
      .select(COLUMNS)) as Row[]
  ).map(toSnapshot);
}

export async function unconvergedSnapshotIds(knex: Knex, limit: number): Promise<string[]> {
  return (await knex("private_data_disk_snapshots")
    .whereNull("deleted_at")
    .whereIn("status", ["creating", "deleting"])
    .orderBy("updated_at")
    .limit(limit)
    .pluck("id")) as string[];
}

/** Live disks cloned from any of `snapshotIds` (they keep the snapshot from being removed). */
export async function liveClonesOf(
  knex: Knex,
  snapshotIds: readonly string[],
): Promise<{ id: string; parent: string }[]> {
  if (snapshotIds.length === 0) return [];
  return (await knex("private_data_disks")
    .whereIn("parent_snapshot_id", snapshotIds)
    .whereNull("deleted_at")
    .select("id", "parent_snapshot_id as parent")) as { id: string; parent: string }[];
}
