import type { Knex } from "knex";
import { quotedInput } from "../api/size-limits.js";
import { lockScope, SCOPED_LOCK_NAMESPACES } from "../db/advisory-lock-keys.js";
import { whereContains } from "../db/contains-pattern.js";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import type { Role } from "../api/principal.js";
import { hashPassword } from "../auth/password-hash.js";
import { revokeUserTokens } from "../auth/token-store.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { limitsFromConfig, type QuotaLimits } from "../quota/quota-dimensions.js";
import type { UserStatus } from "./identity-enums.js";

export interface User {
  id: string;
  tenantId: string | null;
  username: string;
  email: string | null;
  role: Role;
  status: UserStatus;
  quota: QuotaLimits;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

const COLUMNS = [
  "id",
  "tenant_id",
  "username",
  "email",
  "role",
  "status",
  "quota_config",
  "created_at",
  "updated_at",
  "created_by",
  "updated_by",
].map((c) => `u.${c}`);

function toUser(r: Record<string, unknown>): User {
  return {
    id: r.id as string,
    tenantId: (r.tenant_id as string | null) ?? null,
    username: r.username as string,
    email: (r.email as string | null) ?? null,
    role: r.role as Role,
    status: r.status as UserStatus,
    quota: limitsFromConfig(r.quota_config),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
    createdBy: (r.created_by as string | null) ?? null,
    updatedBy: (r.updated_by as string | null) ?? null,
  };
}

export async function getUser(
  knex: Knex | Knex.Transaction,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<User> {
  const q = knex("users as u").where("u.id", id).whereNull("u.deleted_at").first(COLUMNS);
  if (options.forUpdate) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError("user", id);
  return toUser(row);
}

export interface UserListQuery {
  tenantId: string | null;
  onlyUserId: string | null;
  role: Role | null;
  status: UserStatus | null;
  groupId: string | null;
  usernameContains: string;
}

/** Stable order: by id (UUIDv7, creation order), keyset-paginated. */
export async function listUsers(knex: Knex, q: UserListQuery, page: PageRequest): Promise<Page<User>> {
  const query = knex("users as u")
    .whereNull("u.deleted_at")
    .orderBy("u.id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (q.tenantId) query.where("u.tenant_id", q.tenantId);
  if (q.onlyUserId) query.where("u.id", q.onlyUserId);
  if (q.role) query.where("u.role", q.role);
  if (q.status) query.where("u.status", q.status);
  if (q.groupId)
    query.whereExists(knex("user_group_members as m").where("m.group_id", q.groupId).whereRaw("m.user_id = u.id"));
  if (q.usernameContains) whereContains(query, "u.username", q.usernameContains);
  if (page.after) query.where("u.id", ">", page.after[0]!);
  const rows = pageOf((await query) as Record<string, unknown>[], page, (r) => [r.id as string]);
  return { items: rows.items.map(toUser), nextPageToken: rows.nextPageToken };
}

/**
 * Usernames are unique across the hub (issue 11 #4). The refusal names no tenant: it must not tell a
 * tenant admin where else the name lives. Concurrent creators are stopped by the unique index.
 */
async function assertUsernameFree(trx: Knex.Transaction, username: string): Promise<void> {
  const taken = await trx("users")
    .whereNull("deleted_at")
    .whereRaw("lower(username) = lower(?)", [username])
    .first("id");
  if (taken) throw new AlreadyExistsError("user", `username ${quotedInput(username)} is taken`);
}

export interface NewUser {
  tenantId: string | null;
  username: string;
  email: string | null;
  password: string;
  role: Role;
}

export async function createUser(knex: Knex, ctx: Caller, input: NewUser): Promise<User> {
  const passwordHash = await hashPassword(input.password); // outside the transaction: scrypt is slow
  return knex.transaction(async (trx) => {
    if (input.tenantId) {
      // Lock the tenant so concurrent creations of one username serialise on the check below.
      const tenant = await trx("tenants")
        .where("id", input.tenantId)
        .whereNull("deleted_at")
        .forNoKeyUpdate()
        .first("id");
      if (!tenant) throw new NotFoundError("tenant", input.tenantId);
    }
    // Creators of one username in different tenants serialise here, so the loser gets the same answer.
    await lockScope(trx, SCOPED_LOCK_NAMESPACES.usernames, input.username.toLowerCase());
    await assertUsernameFree(trx, input.username);
    const id = newId();
    await trx("users").insert({
      id,
      tenant_id: input.tenantId,
      username: input.username,
      email: input.email,
      password_hash: passwordHash,
      role: input.role,
      status: "active",
      created_at: ctx.at,
      updated_at: ctx.at,
      created_by: ctx.principal.userId,
      updated_by: ctx.principal.userId,
    });
    const user = await getUser(trx, id);
    await recordChange(trx, ctx, {
      tenantId: input.tenantId,
      action: "user.create",
      targetType: "user",
      targetId: id,
      after: user,
    });
    return user;
  });
}

/**
 * Locks the user's tenant row, then the user row, and returns the user: the order quota
 * reservations lock in, so the two never deadlock.
 */
export async function lockUserRow(trx: Knex.Transaction, userId: string): Promise<User> {
  const current = await getUser(trx, userId);
  if (current.tenantId) await trx("tenants").where("id", current.tenantId).forNoKeyUpdate().first("id");
  return getUser(trx, userId, { forUpdate: true });
}

export interface UserPatch {
  email?: string | null;
  role?: Role;
}

/**
 * `authorize` sees the locked current row before anything is written (scoping rules live in the
 * service); `etag` (empty: unchecked) must be the current user's.
 */
export async function updateUser(
  knex: Knex,
  ctx: Caller,
  id: string,
  etag: string,
  patch: UserPatch,
  authorize: (current: User) => void,
): Promise<User> {
  return knex.transaction(async (trx) => {
    const before = await lockUserRow(trx, id);
    authorize(before);
    checkEtag(etag, before, "user", id);
    const row: Record<string, unknown> = { updated_at: ctx.at, updated_by: ctx.principal.userId };
    if (patch.email !== undefined) row.email = patch.email;
    if (patch.role !== undefined) row.role = patch.role;
    await trx("users").where("id", id).update(row);
    // A tenant's admin must hold the tenant_admin role (000 §4.1); a demotion clears the link.
    if (patch.role !== undefined && patch.role !== "tenant_admin") {
      await trx("tenants")
        .where("admin_user_id", id)
        .update({ admin_user_id: null, updated_at: ctx.at, updated_by: ctx.principal.userId });
    }
    const after = await getUser(trx, id);
    await recordChange(trx, ctx, {
      tenantId: before.tenantId,
      action: "user.update",
      targetType: "user",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

/** Soft delete; refused while the user still holds quota (owns resources), which would be orphaned. */
export async function deleteUser(
  knex: Knex,
  ctx: Caller,
  id: string,
  authorize: (current: User) => void,
): Promise<void> {
  await knex.transaction(async (trx) => {
    const before = await lockUserRow(trx, id);
    authorize(before);
    const held = await trx("quota_consumers").where("user_id", id).count({ n: "*" }).first();
    if (Number(held?.n) > 0) {
      throw new FailedPreconditionError(
        `Cannot delete user ${id}: it still owns ${Number(held?.n)} instances or disks`,
        {
          reason: "USER_HAS_RESOURCES",
          metadata: { instances_and_disks: String(Number(held?.n)) },
        },
      );
    }
    await trx("users")
      .where("id", id)
      .update({ deleted_at: ctx.at, updated_at: ctx.at, updated_by: ctx.principal.userId });
    await trx("user_group_members").where("user_id", id).delete();
    await trx("tenants")
      .where("admin_user_id", id)
      .update({ admin_user_id: null, updated_at: ctx.at, updated_by: ctx.principal.userId });
    await revokeUserTokens(trx, id, ctx.at);
    await recordChange(trx, ctx, {
      tenantId: before.tenantId,
      action: "user.delete",
      targetType: "user",
      targetId: id,
      before,
    });
  });
}
