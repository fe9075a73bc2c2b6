import type { Knex } from "knex";
import { SCOPED_LOCK_NAMESPACES, lockScope } from "../db/advisory-lock-keys.js";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { configFromLimits, limitsFromConfig, type QuotaLimits } from "../quota/quota-dimensions.js";
import type { QuotaMode } from "../quota/quota-usage.js";

export interface UserGroup {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  parentGroupId: string | null;
  quotaMode: QuotaMode;
  quota: QuotaLimits;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

const COLUMNS = [
  "id",
  "tenant_id",
  "name",
  "description",
  "parent_group_id",
  "quota_mode",
  "quota_config",
  "created_at",
  "updated_at",
  "created_by",
  "updated_by",
].map((c) => `g.${c}`);

function toGroup(r: Record<string, unknown>): UserGroup {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    name: r.name as string,
    description: r.description as string,
    parentGroupId: (r.parent_group_id as string | null) ?? null,
    quotaMode: r.quota_mode as QuotaMode,
    quota: limitsFromConfig(r.quota_config),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
    createdBy: (r.created_by as string | null) ?? null,
    updatedBy: (r.updated_by as string | null) ?? null,
  };
}

export async function getUserGroup(
  knex: Knex | Knex.Transaction,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<UserGroup> {
  const q = knex("user_groups as g").where("g.id", id).whereNull("g.deleted_at").first(COLUMNS);
  if (options.forUpdate) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError("user group", id);
  return toGroup(row);
}

export interface UserGroupListQuery {
  tenantId: string | null;
  parentGroupId: string | null;
  /** Only groups this user is a direct member of. */
  memberUserId: string | null;
}

/** Stable order: by id (UUIDv7, creation order), keyset-paginated. */
export async function listUserGroups(knex: Knex, q: UserGroupListQuery, page: PageRequest): Promise<Page<UserGroup>> {
  const query = knex("user_groups as g")
    .whereNull("g.deleted_at")
    .orderBy("g.id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (q.tenantId) query.where("g.tenant_id", q.tenantId);
  if (q.parentGroupId) query.where("g.parent_group_id", q.parentGroupId);
  if (q.memberUserId)
    query.whereExists(knex("user_group_members as m").where("m.user_id", q.memberUserId).whereRaw("m.group_id = g.id"));
  if (page.after) query.where("g.id", ">", page.after[0]!);
  const rows = pageOf((await query) as Record<string, unknown>[], page, (r) => [r.id as string]);
  return { items: rows.items.map(toGroup), nextPageToken: rows.nextPageToken };
}

export async function isGroupMember(knex: Knex, groupId: string, userId: string): Promise<boolean> {
  return (
    (await knex("user_group_members").where({ group_id: groupId, user_id: userId }).first("group_id")) !== undefined
  );
}

export interface GroupMember {
  userId: string;
  username: string;
  joinedAt: Date;
}

/** A group's live direct members, by user id (creation order of the users), keyset-paginated. */
export async function listGroupMembers(knex: Knex, groupId: string, page: PageRequest): Promise<Page<GroupMember>> {
  const query = knex("user_group_members as m")
    .join("users as u", "u.id", "m.user_id")
    .where("m.group_id", groupId)
    .whereNull("u.deleted_at")
    .orderBy("m.user_id")
    .limit(page.pageSize + 1)
    .select("m.user_id", "u.username", "m.created_at");
  if (page.after) query.where("m.user_id", ">", page.after[0]!);
  const rows = pageOf((await query) as { user_id: string; username: string; created_at: string }[], page, (r) => [
    r.user_id,
  ]);
  return {
    items: rows.items.map((r) => ({ userId: r.user_id, username: r.username, joinedAt: new Date(r.created_at) })),
    nextPageToken: rows.nextPageToken,
  };
}

/** Tree changes in one tenant serialise on this lock, so two concurrent re-parentings cannot close a cycle. */
async function lockTenantTree(trx: Knex.Transaction, tenantId: string): Promise<void> {
  await lockScope(trx, SCOPED_LOCK_NAMESPACES.userGroups, tenantId);
}

async function assertParentUsable(
  trx: Knex.Transaction,
  tenantId: string,
  parentId: string,
  groupId: string | null,
  field = "group.parent_group_id",
): Promise<void> {
  const parent = await trx("user_groups")
    .where({ id: parentId, tenant_id: tenantId })
    .whereNull("deleted_at")
    .first("id");
  // Another tenant's group answers like a missing one.
  if (!parent) throw new NotFoundError("user group", parentId);
  if (groupId === null) return;
  const res = await trx.raw(
    `WITH RECURSIVE anc(id, parent_group_id) AS (
       SELECT id, parent_group_id FROM user_groups WHERE id = ?
       UNION SELECT g.id, g.parent_group_id FROM user_groups g JOIN anc ON g.id = anc.parent_group_id)
     SELECT 1 FROM anc WHERE id = ? LIMIT 1`,
    [parentId, groupId],
  );
  if ((res.rows as unknown[]).length > 0) {
    throw new InvalidArgumentError(
      field,
      `group ${parentId} is ${parentId === groupId ? "the group itself" : "a descendant of the group"}: a group cannot be its own ancestor`,
    );
  }
}

async function assertNameFree(trx: Knex.Transaction, tenantId: string, name: string, exceptId?: string): Promise<void> {
  const q = trx("user_groups")
    .where("tenant_id", tenantId)
    .whereNull("deleted_at")
    .whereRaw("lower(name) = lower(?)", [name])
    .first("id");
  if (exceptId) q.whereNot("id", exceptId);
  if (await q)
    throw new AlreadyExistsError("user group", `name ${JSON.stringify(name)} is taken in tenant ${tenantId}`);
}

export interface NewUserGroup {
  tenantId: string;
  name: string;
  description: string;
  parentGroupId: string | null;
  quotaMode: QuotaMode;
  quota: QuotaLimits;
}

export async function createUserGroup(knex: Knex, ctx: Caller, input: NewUserGroup): Promise<UserGroup> {
  return knex.transaction(async (trx) => {
    const tenant = await trx("tenants").where("id", input.tenantId).whereNull("deleted_at").first("id");
    if (!tenant) throw new NotFoundError("tenant", input.tenantId);
    await lockTenantTree(trx, input.tenantId);
    await assertNameFree(trx, input.tenantId, input.name);
    if (input.parentGroupId)
      await assertParentUsable(trx, input.tenantId, input.parentGroupId, null, "parent_group_id");
    const id = newId();
    await trx("user_groups").insert({
      id,
      tenant_id: input.tenantId,
      name: input.name,
      description: input.description,
      parent_group_id: input.parentGroupId,
      quota_mode: input.quotaMode,
      quota_config: JSON.stringify(configFromLimits(input.quota)),
      created_at: ctx.at,
      updated_at: ctx.at,
      created_by: ctx.principal.userId,
      updated_by: ctx.principal.userId,
    });
    const group = await getUserGroup(trx, id);
    await recordChange(trx, ctx, {
      tenantId: input.tenantId,
      action: "user_group.create",
      targetType: "user_group",
      targetId: id,
      after: group,
    });
    return group;
  });
}

export interface UserGroupPatch {
  name?: string;
  description?: string;
  parentGroupId?: string | null;
  quotaMode?: QuotaMode;
}

/** `etag` (empty: unchecked) must be the current group's, checked on the locked row before anything is written. */
export async function updateUserGroup(
  knex: Knex,
  ctx: Caller,
  id: string,
  etag: string,
  patch: UserGroupPatch,
  authorize: (g: UserGroup) => void,
): Promise<UserGroup> {
  return knex.transaction(async (trx) => {
    const current = await getUserGroup(trx, id);
    authorize(current);
    await lockTenantTree(trx, current.tenantId);
    const before = await getUserGroup(trx, id, { forUpdate: true });
    checkEtag(etag, before, "user group", id);
    const row: Record<string, unknown> = { updated_at: ctx.at, updated_by: ctx.principal.userId };
    if (patch.name !== undefined) {
      await assertNameFree(trx, before.tenantId, patch.name, id);
      row.name = patch.name;
    }
    if (patch.description !== undefined) row.description = patch.description;
    if (patch.quotaMode !== undefined) row.quota_mode = patch.quotaMode;
    if (patch.parentGroupId !== undefined) {
      if (patch.parentGroupId !== null) await assertParentUsable(trx, before.tenantId, patch.parentGroupId, id);
      row.parent_group_id = patch.parentGroupId;
    }
    await trx("user_groups").where("id", id).update(row);
    const after = await getUserGroup(trx, id);
    await recordChange(trx, ctx, {
      tenantId: before.tenantId,
      action: "user_group.update",
      targetType: "user_group",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

/** Soft delete; refused while live subgroups hang below it. Memberships go with the group. */
export async function deleteUserGroup(
  knex: Knex,
  ctx: Caller,
  id: string,
  authorize: (g: UserGroup) => void,
): Promise<void> {
  await knex.transaction(async (trx) => {
    const current = await getUserGroup(trx, id);
    authorize(current);
    await lockTenantTree(trx, current.tenantId);
    const before = await getUserGroup(trx, id, { forUpdate: true });
    const children = await trx("user_groups")
      .where("parent_group_id", id)
      .whereNull("deleted_at")
      .count({ n: "*" })
      .first();
    if (Number(children?.n) > 0) {
      throw new FailedPreconditionError(
        `Cannot delete user group ${id}: it has ${Number(children?.n)} subgroups; move or delete them first`,
        {
          reason: "GROUP_HAS_SUBGROUPS",
          metadata: { subgroups: String(Number(children?.n)) },
        },
      );
    }
    await trx("user_groups")
      .where("id", id)
      .update({ deleted_at: ctx.at, updated_at: ctx.at, updated_by: ctx.principal.userId });
    await trx("user_group_members").where("group_id", id).delete();
    await recordChange(trx, ctx, {
      tenantId: before.tenantId,
      action: "user_group.delete",
      targetType: "user_group",
      targetId: id,
      before,
    });
  });
}

/** Adds or removes members; every user must be a live user of the group's tenant (others answer not_found). */
export async function changeMembers(
  knex: Knex,
  ctx: Caller,
  id: string,
  userIds: string[],
  op: "add" | "remove",
  authorize: (g: UserGroup) => void,
): Promise<UserGroup> {
  return knex.transaction(async (trx) => {
    // The group row lock also orders membership changes against quota reservations of its members.
    const before = await getUserGroup(trx, id, { forUpdate: true });
    authorize(before);
    const unique = [...new Set(userIds)];
    const found = await trx("users")
      .whereIn("id", unique)
      .where("tenant_id", before.tenantId)
      .whereNull("deleted_at")
      .pluck("id");
    const missing = unique.find((u) => !found.includes(u));
    if (missing) throw new NotFoundError("user", missing);
    if (op === "add") {
      await trx("user_group_members")
        .insert(
          unique.map((userId) => ({
            group_id: id,
            user_id: userId,
            created_at: ctx.at,
            created_by: ctx.principal.userId,
          })),
        )
        .onConflict(["group_id", "user_id"])
        .ignore();
    } else {
      await trx("user_group_members").where("group_id", id).whereIn("user_id", unique).delete();
    }
    await trx("user_groups").where("id", id).update({ updated_at: ctx.at, updated_by: ctx.principal.userId });
    await recordChange(trx, ctx, {
      tenantId: before.tenantId,
      action: `user_group.${op}_members`,
      targetType: "user_group",
      targetId: id,
      after: { [op === "add" ? "addedUserIds" : "removedUserIds"]: unique },
    });
    return getUserGroup(trx, id);
  });
}
