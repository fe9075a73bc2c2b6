import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { NotFoundError } from "../domain/errors.js";
import type { InstanceSet, SetStatus, SetType } from "./instance-set.js";

const COLUMNS = [
  "id",
  "tenant_id",
  "owner_id",
  "user_group_id",
  "template_id",
  "name",
  "description",
  "set_type",
  "status",
  "tags",
  "created_at",
  "updated_at",
  "created_by",
  "updated_by",
].map((c) => `instance_sets.${c}`);

type Row = Record<string, unknown>;

function toInstanceSet(r: Row): InstanceSet {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    ownerId: r.owner_id as string,
    userGroupId: (r.user_group_id as string | null) ?? null,
    templateId: (r.template_id as string | null) ?? null,
    name: r.name as string,
    description: r.description as string,
    setType: r.set_type as SetType,
    status: r.status as SetStatus,
    tags: (r.tags as Record<string, string>) ?? {},
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
    createdBy: (r.created_by as string | null) ?? null,
    updatedBy: (r.updated_by as string | null) ?? null,
  };
}

/**
 * A live (not deleted) set. `lock`: FOR UPDATE (status changes, updates); `share`: FOR SHARE, so
 * an archive or delete waits for the instances being added to finish, and they see it after.
 */
export async function getInstanceSet(
  knex: Knex,
  id: string,
  options: { lock?: boolean; share?: boolean } = {},
): Promise<InstanceSet> {
  const q = knex("instance_sets").where("instance_sets.id", id).whereNull("instance_sets.deleted_at").first(COLUMNS);
  if (options.lock) q.forUpdate();
  else if (options.share) q.forShare();
  const row = (await q) as Row | undefined;
  if (!row) throw new NotFoundError("instance set", id);
  return toInstanceSet(row);
}

export interface InstanceSetListQuery {
  tenantId: string | null;
  setType: SetType | null;
  /** Sets in this status; null lists the active ones (archived sets are out of ordinary lists, 000 §2.5.3). */
  status: Exclude<SetStatus, "deleted"> | null;
  ownerId: string | null;
  /** Only sets this user is a live member of. */
  memberUserId: string | null;
}

/** Live sets in creation order (v7 ids), keyset-paged on id. */
export async function listInstanceSets(
  knex: Knex,
  filter: InstanceSetListQuery,
  page: PageRequest,
): Promise<Page<InstanceSet>> {
  const q = knex("instance_sets")
    .whereNull("instance_sets.deleted_at")
    .where("instance_sets.status", filter.status ?? "active")
    .orderBy("instance_sets.id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (filter.tenantId) q.where("instance_sets.tenant_id", filter.tenantId);
  if (filter.setType) q.where("instance_sets.set_type", filter.setType);
  if (filter.ownerId) q.where("instance_sets.owner_id", filter.ownerId);
  if (filter.memberUserId)
    q.whereExists((sub) =>
      sub
        .select(knex.raw("1"))
        .from("instance_set_members as m")
        .whereRaw("m.instance_set_id = instance_sets.id")
        .where("m.user_id", filter.memberUserId!)
        .whereNull("m.removed_at"),
    );
  if (page.after) q.where("instance_sets.id", ">", page.after[0]!);
  return pageOf(((await q) as Row[]).map(toInstanceSet), page, (s) => [s.id]);
}

/** Sets by id (a page of ListMyInstanceSets), live ones only. */
export async function instanceSetsByIds(knex: Knex, ids: readonly string[]): Promise<Map<string, InstanceSet>> {
  if (ids.length === 0) return new Map();
  const rows = (await knex("instance_sets")
    .whereIn("instance_sets.id", ids)
    .whereNull("instance_sets.deleted_at")
    .select(COLUMNS)) as Row[];
  return new Map(rows.map((r) => [r.id as string, toInstanceSet(r)]));
}
