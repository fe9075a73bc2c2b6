import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { NotFoundError } from "../domain/errors.js";
import type { StoragePool } from "./disk.js";
import type { DiskType, StoragePoolStatus } from "./disk-enums.js";

const COLUMNS = [
  "id",
  "agent_id",
  "edge_data_center_id",
  "name",
  "capacity_bytes",
  "used_bytes",
  "available_bytes",
  "object_count",
  "status",
  "refreshed_at",
  "created_at",
  "updated_at",
].map((c) => `storage_pools.${c}`);

type Row = Record<string, unknown>;

function toPool(r: Row): StoragePool {
  return {
    id: r.id as string,
    agentId: r.agent_id as string,
    edgeDataCenterId: (r.edge_data_center_id as string | null) ?? null,
    name: r.name as string,
    capacityBytes: BigInt(r.capacity_bytes as string),
    usedBytes: BigInt(r.used_bytes as string),
    availableBytes: BigInt(r.available_bytes as string),
    objectCount: BigInt(r.object_count as string),
    status: r.status as StoragePoolStatus,
    refreshedAt: new Date(r.refreshed_at as string),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

export async function getStoragePool(knex: Knex, id: string, options: { lock?: boolean } = {}): Promise<StoragePool> {
  const q = knex("storage_pools").where("storage_pools.id", id).first(COLUMNS);
  if (options.lock) q.forUpdate();
  const row = (await q) as Row | undefined;
  if (!row) throw new NotFoundError("storage pool", id);
  return toPool(row);
}

export interface StoragePoolListQuery {
  name: string | null;
  agentId: string | null;
  edgeDataCenterId: string | null;
  status: StoragePoolStatus | null;
}

export async function listStoragePools(
  knex: Knex,
  filter: StoragePoolListQuery,
  page: PageRequest,
): Promise<Page<StoragePool>> {
  const q = knex("storage_pools")
    .orderBy("storage_pools.id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (filter.name) q.where("storage_pools.name", filter.name);
  if (filter.agentId) q.where("storage_pools.agent_id", filter.agentId);
  if (filter.edgeDataCenterId) q.where("storage_pools.edge_data_center_id", filter.edgeDataCenterId);
  if (filter.status) q.where("storage_pools.status", filter.status);
  if (page.after) q.where("storage_pools.id", ">", page.after[0]!);
  return pageOf(((await q) as Row[]).map(toPool), page, (p) => [p.id]);
}

/** Active pools of `name` (any gateway, optionally one edge data center), most free space first. */
export async function activePoolsNamed(
  knex: Knex,
  name: string,
  edgeDataCenterId: string | null,
): Promise<StoragePool[]> {
  const q = knex("storage_pools")
    .where({ "storage_pools.name": name, "storage_pools.status": "active" })
    .orderBy([{ column: "storage_pools.available_bytes", order: "desc" }, "storage_pools.id"])
    .select(COLUMNS);
  if (edgeDataCenterId) q.where("storage_pools.edge_data_center_id", edgeDataCenterId);
  return ((await q) as Row[]).map(toPool);
}

export interface DiskTypePool {
  diskType: DiskType;
  poolName: string;
  updatedAt: Date;
}

export async function listDiskTypePools(knex: Knex): Promise<DiskTypePool[]> {
  const rows = (await knex("disk_type_pools")
    .orderBy("disk_type")
    .select("disk_type", "pool_name", "updated_at")) as Row[];
  return rows.map((r) => ({
    diskType: r.disk_type as DiskType,
    poolName: r.pool_name as string,
    updatedAt: new Date(r.updated_at as string),
  }));
}

export async function poolNameFor(knex: Knex, diskType: DiskType): Promise<string> {
  const row = (await knex("disk_type_pools").where({ disk_type: diskType }).first("pool_name")) as
    { pool_name: string } | undefined;
  if (!row) throw new NotFoundError("disk type pool", diskType);
  return row.pool_name;
}
