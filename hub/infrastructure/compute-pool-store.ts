import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { recordChange } from "../audit/record-change.js";
import { whereContains } from "../db/contains-pattern.js";
import { newId } from "../db/ids.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import type { ComputePoolStatus, SchedulingPolicy } from "./infrastructure-enums.js";
import { checkedName, refuseTakenName } from "./site-names.js";

/**
 * A compute pool (spec 000 §6.1.1). total_* are derived from its machines (capacity-totals.ts);
 * allocated_* are charged by the scheduler.
 */
export interface ComputePoolRecord {
  id: string;
  name: string;
  description: string;
  status: ComputePoolStatus;
  edgeDataCenterId: string | null;
  schedulingPolicy: SchedulingPolicy;
  totalCpuCores: number;
  totalMemoryGb: number;
  totalStorageGb: number;
  totalGpuCount: number;
  allocatedCpuCores: number;
  allocatedMemoryGb: number;
  allocatedStorageGb: number;
  allocatedGpuCount: number;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = [
  "id",
  "name",
  "description",
  "status",
  "edge_data_center_id",
  "scheduling_policy",
  "total_cpu_cores",
  "total_memory_gb",
  "total_storage_gb",
  "total_gpu_count",
  "allocated_cpu_cores",
  "allocated_memory_gb",
  "allocated_storage_gb",
  "allocated_gpu_count",
  "created_at",
  "updated_at",
];

function toRecord(r: Record<string, unknown>): ComputePoolRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    description: r.description as string,
    status: r.status as ComputePoolStatus,
    edgeDataCenterId: (r.edge_data_center_id as string | null) ?? null,
    schedulingPolicy: r.scheduling_policy as SchedulingPolicy,
    totalCpuCores: Number(r.total_cpu_cores),
    totalMemoryGb: Number(r.total_memory_gb),
    totalStorageGb: Number(r.total_storage_gb),
    totalGpuCount: Number(r.total_gpu_count),
    allocatedCpuCores: Number(r.allocated_cpu_cores),
    allocatedMemoryGb: Number(r.allocated_memory_gb),
    allocatedStorageGb: Number(r.allocated_storage_gb),
    allocatedGpuCount: Number(r.allocated_gpu_count),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

export async function getComputePool(
  knex: Knex | Knex.Transaction,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<ComputePoolRecord> {
  const q = knex("compute_pools").where("id", id).whereNull("deleted_at").first(COLUMNS);
  if (options.forUpdate) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError("compute pool", id);
  return toRecord(row);
}

export interface ComputePoolListQuery {
  edgeDataCenterId: string | null;
  status: ComputePoolStatus | null;
  schedulingPolicy: SchedulingPolicy | null;
  nameContains: string;
}

/** Creation order (UUIDv7 ids), keyset-paginated. */
export async function listComputePools(
  knex: Knex,
  q: ComputePoolListQuery,
  page: PageRequest,
): Promise<Page<ComputePoolRecord>> {
  const query = knex("compute_pools")
    .whereNull("deleted_at")
    .orderBy("id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (q.edgeDataCenterId) query.where("edge_data_center_id", q.edgeDataCenterId);
  if (q.status) query.where("status", q.status);
  if (q.schedulingPolicy) query.where("scheduling_policy", q.schedulingPolicy);
  if (q.nameContains) whereContains(query, "name", q.nameContains);
  if (page.after) query.where("id", ">", page.after[0]!);
  const rows = pageOf((await query) as Record<string, unknown>[], page, (r) => [r.id as string]);
  return { items: rows.items.map(toRecord), nextPageToken: rows.nextPageToken };
}

/** A pool's data center must be a live one; the field names the request field. */
async function checkedDataCenter(trx: Knex.Transaction, field: string, id: string | null): Promise<string | null> {
  if (id === null) return null;
  const dc = await trx("edge_data_centers").where({ id }).whereNull("deleted_at").first("id");
  if (!dc) throw new InvalidArgumentError(field, `edge data center ${id} does not exist`);
  return id;
}

export interface NewComputePool {
  name: string;
  description: string;
  edgeDataCenterId: string | null;
  schedulingPolicy: SchedulingPolicy;
}

export async function createComputePool(
  trx: Knex.Transaction,
  caller: Caller,
  input: NewComputePool,
): Promise<ComputePoolRecord> {
  const name = checkedName("compute_pool.name", input.name);
  await refuseTakenName(trx, "compute_pools", "compute pool", name);
  const id = newId();
  await trx("compute_pools").insert({
    id,
    name,
    description: input.description.trim(),
    status: "active",
    edge_data_center_id: await checkedDataCenter(trx, "compute_pool.edge_data_center_id", input.edgeDataCenterId),
    scheduling_policy: input.schedulingPolicy,
    created_at: caller.at,
    updated_at: caller.at,
    created_by: caller.principal.userId,
    updated_by: caller.principal.userId,
  });
  return getComputePool(trx, id);
}

export interface ComputePoolPatch {
  name?: string;
  description?: string;
  schedulingPolicy?: SchedulingPolicy;
  /** null detaches the pool from any one data center. */
  edgeDataCenterId?: string | null;
}

/** `etag` (empty: unchecked) is checked on the locked row before anything is written. */
export async function updateComputePool(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  patch: ComputePoolPatch,
): Promise<ComputePoolRecord> {
  return knex.transaction(async (trx) => {
    const before = await getComputePool(trx, id, { forUpdate: true });
    checkEtag(etag, before, "compute pool", id);
    const row: Record<string, unknown> = { updated_at: caller.at, updated_by: caller.principal.userId };
    if (patch.name !== undefined) {
      await refuseTakenName(trx, "compute_pools", "compute pool", patch.name, id);
      row.name = patch.name;
    }
    if (patch.description !== undefined) row.description = patch.description;
    if (patch.schedulingPolicy !== undefined) row.scheduling_policy = patch.schedulingPolicy;
    if (patch.edgeDataCenterId !== undefined)
      row.edge_data_center_id = await checkedDataCenter(
        trx,
        "compute_pool.edge_data_center_id",
        patch.edgeDataCenterId,
      );
    await trx("compute_pools").where("id", id).update(row);
    const after = await getComputePool(trx, id);
    await recordChange(trx, caller, {
      tenantId: null,
      action: "compute_pool.update",
      targetType: "compute_pool",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

const STATUS_VERB: Record<ComputePoolStatus, string> = {
  active: "activate",
  maintenance: "start_maintenance",
  disabled: "disable",
};

/**
 * Any status may follow any other; the scheduler only places into active pools, and what runs
 * in a pool stays whatever its status. Asking for the current status writes nothing.
 */
export async function setComputePoolStatus(
  knex: Knex,
  caller: Caller,
  id: string,
  status: ComputePoolStatus,
): Promise<ComputePoolRecord> {
  return knex.transaction(async (trx) => {
    const before = await getComputePool(trx, id, { forUpdate: true });
    if (before.status === status) return before;
    await trx("compute_pools")
      .where("id", id)
      .update({ status, updated_at: caller.at, updated_by: caller.principal.userId });
    const after = await getComputePool(trx, id);
    await recordChange(trx, caller, {
      tenantId: null,
      action: `compute_pool.${STATUS_VERB[status]}`,
      targetType: "compute_pool",
      targetId: id,
      before: { status: before.status },
      after: { status },
    });
    return after;
  });
}
