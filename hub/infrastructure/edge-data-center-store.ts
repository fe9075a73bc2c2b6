import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { recordChange } from "../audit/record-change.js";
import { whereContains } from "../db/contains-pattern.js";
import { newId } from "../db/ids.js";
import { NotFoundError } from "../domain/errors.js";
import type { EdgeDataCenterStatus } from "./infrastructure-enums.js";
import { checkedName, refuseTakenName } from "./site-names.js";

/** An edge data center (spec 000 §1.1); totals are kept by capacity-totals.ts. */
export interface EdgeDataCenterRecord {
  id: string;
  name: string;
  location: string;
  status: EdgeDataCenterStatus;
  totalCpuCores: number;
  totalMemoryGb: number;
  totalStorageGb: number;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = [
  "id",
  "name",
  "location",
  "status",
  "total_cpu_cores",
  "total_memory_gb",
  "total_storage_gb",
  "created_at",
  "updated_at",
];

function toRecord(r: Record<string, unknown>): EdgeDataCenterRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    location: r.location as string,
    status: r.status as EdgeDataCenterStatus,
    totalCpuCores: Number(r.total_cpu_cores),
    totalMemoryGb: Number(r.total_memory_gb),
    totalStorageGb: Number(r.total_storage_gb),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

export async function getEdgeDataCenter(
  knex: Knex | Knex.Transaction,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<EdgeDataCenterRecord> {
  const q = knex("edge_data_centers").where("id", id).whereNull("deleted_at").first(COLUMNS);
  if (options.forUpdate) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError("edge data center", id);
  return toRecord(row);
}

export interface EdgeDataCenterListQuery {
  status: EdgeDataCenterStatus | null;
  nameContains: string;
}

/** Creation order (UUIDv7 ids), keyset-paginated. */
export async function listEdgeDataCenters(
  knex: Knex,
  q: EdgeDataCenterListQuery,
  page: PageRequest,
): Promise<Page<EdgeDataCenterRecord>> {
  const query = knex("edge_data_centers")
    .whereNull("deleted_at")
    .orderBy("id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (q.status) query.where("status", q.status);
  if (q.nameContains) whereContains(query, "name", q.nameContains);
  if (page.after) query.where("id", ">", page.after[0]!);
  const rows = pageOf((await query) as Record<string, unknown>[], page, (r) => [r.id as string]);
  return { items: rows.items.map(toRecord), nextPageToken: rows.nextPageToken };
}

export async function createEdgeDataCenter(
  trx: Knex.Transaction,
  caller: Caller,
  input: { name: string; location: string },
): Promise<EdgeDataCenterRecord> {
  const name = checkedName("edge_data_center.name", input.name);
  await refuseTakenName(trx, "edge_data_centers", "edge data center", name);
  const id = newId();
  await trx("edge_data_centers").insert({
    id,
    name,
    location: input.location.trim(),
    status: "active",
    created_at: caller.at,
    updated_at: caller.at,
    created_by: caller.principal.userId,
    updated_by: caller.principal.userId,
  });
  return getEdgeDataCenter(trx, id);
}

export interface EdgeDataCenterPatch {
  name?: string;
  location?: string;
}

/** `etag` (empty: unchecked) is checked on the locked row before anything is written. */
export async function updateEdgeDataCenter(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  patch: EdgeDataCenterPatch,
): Promise<EdgeDataCenterRecord> {
  return knex.transaction(async (trx) => {
    const before = await getEdgeDataCenter(trx, id, { forUpdate: true });
    checkEtag(etag, before, "edge data center", id);
    const row: Record<string, unknown> = { updated_at: caller.at, updated_by: caller.principal.userId };
    if (patch.name !== undefined) {
      await refuseTakenName(trx, "edge_data_centers", "edge data center", patch.name, id);
      row.name = patch.name;
    }
    if (patch.location !== undefined) row.location = patch.location;
    await trx("edge_data_centers").where("id", id).update(row);
    const after = await getEdgeDataCenter(trx, id);
    await recordChange(trx, caller, {
      tenantId: null,
      action: "edge_data_center.update",
      targetType: "edge_data_center",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

const STATUS_VERB: Record<EdgeDataCenterStatus, string> = {
  active: "activate",
  maintenance: "start_maintenance",
  offline: "take_offline",
};

/**
 * Any status may follow any other (a site can fail while in maintenance, come back into it, …);
 * asking for the current one writes nothing, so a retried call is harmless.
 */
export async function setEdgeDataCenterStatus(
  knex: Knex,
  caller: Caller,
  id: string,
  status: EdgeDataCenterStatus,
): Promise<EdgeDataCenterRecord> {
  return knex.transaction(async (trx) => {
    const before = await getEdgeDataCenter(trx, id, { forUpdate: true });
    if (before.status === status) return before;
    await trx("edge_data_centers")
      .where("id", id)
      .update({ status, updated_at: caller.at, updated_by: caller.principal.userId });
    const after = await getEdgeDataCenter(trx, id);
    await recordChange(trx, caller, {
      tenantId: null,
      action: `edge_data_center.${STATUS_VERB[status]}`,
      targetType: "edge_data_center",
      targetId: id,
      before: { status: before.status },
      after: { status },
    });
    return after;
  });
}
