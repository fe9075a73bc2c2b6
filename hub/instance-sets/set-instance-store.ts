import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { newId } from "../db/ids.js";
import type { MemberRole } from "./instance-set.js";

/** An instance as its set shows it: the instance's state and size, its owner and role in the set. */
export interface SetInstance {
  instanceId: string;
  instanceSetId: string;
  name: string;
  userId: string;
  tenantId: string;
  role: MemberRole;
  status: string;
  desiredState: string;
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpuCount: number;
  computeMachineId: string | null;
  lastError: string;
  joinedAt: Date;
  createdAt: Date;
}

const COLUMNS = [
  "i.id",
  "l.instance_set_id",
  "i.name",
  "i.user_id",
  "i.tenant_id",
  "l.role",
  "i.status",
  "i.desired_state",
  "i.cpu_cores",
  "i.memory_gb",
  "i.storage_gb",
  "i.gpu_count",
  "i.compute_machine_id",
  "i.last_error",
  "l.joined_at",
  "i.created_at",
];

type Row = Record<string, unknown>;

function toSetInstance(r: Row): SetInstance {
  return {
    instanceId: r.id as string,
    instanceSetId: r.instance_set_id as string,
    name: r.name as string,
    userId: r.user_id as string,
    tenantId: r.tenant_id as string,
    role: r.role as MemberRole,
    status: r.status as string,
    desiredState: r.desired_state as string,
    cpuCores: Number(r.cpu_cores),
    memoryGb: Number(r.memory_gb),
    storageGb: Number(r.storage_gb),
    gpuCount: Number(r.gpu_count),
    computeMachineId: (r.compute_machine_id as string | null) ?? null,
    lastError: r.last_error as string,
    joinedAt: new Date(r.joined_at as string),
    createdAt: new Date(r.created_at as string),
  };
}

/** Live links joined to live instances. */
function linked(knex: Knex) {
  return knex("instance_set_instances as l")
    .join("instances as i", "i.id", "l.instance_id")
    .whereNull("l.removed_at")
    .whereNull("i.deleted_at");
}

/**
 * Links an instance to a set. The partial unique index (an instance is in at most one live set)
 * refuses a concurrent second link.
 */
export async function linkInstance(
  trx: Knex.Transaction,
  l: { instanceSetId: string; instanceId: string; role: MemberRole; at: Date; addedBy: string },
): Promise<void> {
  await trx("instance_set_instances").insert({
    id: newId(),
    instance_set_id: l.instanceSetId,
    instance_id: l.instanceId,
    role: l.role,
    joined_at: l.at,
    added_by: l.addedBy,
  });
}

/** Ends an instance's live link to the set; false when it had none there. */
export async function unlinkInstance(
  trx: Knex.Transaction,
  instanceSetId: string,
  instanceId: string,
  at: Date,
  by: string,
): Promise<boolean> {
  const n = await trx("instance_set_instances")
    .where({ instance_set_id: instanceSetId, instance_id: instanceId })
    .whereNull("removed_at")
    .update({ removed_at: at, removed_by: by });
  return n > 0;
}

/** Ends every live link of a deleted set (its instances stay, 000 §2.2). */
export async function unlinkAll(trx: Knex.Transaction, instanceSetId: string, at: Date, by: string) {
  return trx("instance_set_instances")
    .where({ instance_set_id: instanceSetId })
    .whereNull("removed_at")
    .update({ removed_at: at, removed_by: by });
}

/** The live set an instance is linked to, if any. */
export async function setOfInstance(knex: Knex, instanceId: string): Promise<string | undefined> {
  const row = (await knex("instance_set_instances")
    .where({ instance_id: instanceId })
    .whereNull("removed_at")
    .first("instance_set_id")) as { instance_set_id: string } | undefined;
  return row?.instance_set_id;
}

/**
 * One instance of the set (live, linked), or undefined. `includeDeleted`: also an instance deleted
 * through the set (its link stays live), to report a batch delete.
 */
export async function getSetInstance(
  knex: Knex,
  instanceSetId: string,
  instanceId: string,
  options: { includeDeleted?: boolean } = {},
): Promise<SetInstance | undefined> {
  const q = knex("instance_set_instances as l")
    .join("instances as i", "i.id", "l.instance_id")
    .whereNull("l.removed_at")
    .where("l.instance_set_id", instanceSetId)
    .where("l.instance_id", instanceId)
    .first(COLUMNS);
  if (!options.includeDeleted) q.whereNull("i.deleted_at");
  const row = (await q) as Row | undefined;
  return row ? toSetInstance(row) : undefined;
}

/** The set's live instances in id order, all or only `ownerId`'s (a student's view), optionally in one status, keyset-paged. */
export async function listSetInstances(
  knex: Knex,
  instanceSetId: string,
  filter: { ownerId: string | null; status: string | null },
  page: PageRequest,
): Promise<Page<SetInstance>> {
  const q = linked(knex)
    .where("l.instance_set_id", instanceSetId)
    .orderBy("i.id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (filter.ownerId) q.where("i.user_id", filter.ownerId);
  if (filter.status) q.where("i.status", filter.status);
  if (page.after) q.where("i.id", ">", page.after[0]!);
  return pageOf(((await q) as Row[]).map(toSetInstance), page, (s) => [s.instanceId]);
}

/** Every live instance of many sets (ListMyInstanceSets), optionally only `ownerId`'s per set. */
export async function instancesOfSets(
  knex: Knex,
  sets: readonly { instanceSetId: string; ownerId: string | null }[],
): Promise<Map<string, SetInstance[]>> {
  const out = new Map<string, SetInstance[]>(sets.map((s) => [s.instanceSetId, []]));
  if (sets.length === 0) return out;
  const rows = (await linked(knex)
    .where((w) => {
      for (const s of sets)
        w.orWhere((o) => {
          o.where("l.instance_set_id", s.instanceSetId);
          if (s.ownerId) o.where("i.user_id", s.ownerId);
        });
    })
    .orderBy("i.id")
    .select(COLUMNS)) as Row[];
  for (const r of rows) out.get(r.instance_set_id as string)!.push(toSetInstance(r));
  return out;
}

/** Ids of the set's live instances, in id order (a batch verb over the whole set). */
export async function setInstanceIds(knex: Knex, instanceSetId: string): Promise<string[]> {
  const rows = (await linked(knex).where("l.instance_set_id", instanceSetId).orderBy("i.id").select("i.id")) as {
    id: string;
  }[];
  return rows.map((r) => r.id);
}
