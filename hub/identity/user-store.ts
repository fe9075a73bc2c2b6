import type { Knex } from "knex";
import { hashPassword } from "../auth/password-hash.js";
import type { Role } from "../api/principal.js";
import { revokeUserTokens } from "../auth/token-store.js";
import { recordChange, type ChangeContext } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { limitsFromConfig, type QuotaLimits } from "../quota/quota-dimensions.js";
import type { UserStatus } from "./identity-rules.js";
import { pageOf } from "./page-token.js";

export interface User {
  id: string;
  tenantId: string | null;
  username: string;
  email: string | null;
  role: Role;
  status: UserStatus;
  groupIds: string[];
  quota: QuotaLimits;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

const COLUMNS = ["id", "tenant_id", "username", "email", "role", "status", "quota_config", "created_at", "updated_at", "created_by", "updated_by"].map((c) => `u.${c}`);

async function withGroups(knex: Knex | Knex.Transaction, rows: Record<string, unknown>[]): Promise<User[]> {
  const ids = rows.map((r) => r.id as string);
  const memberships = ids.length === 0 ? [] : await knex("user_group_members as m").join("user_groups as g", "g.id", "m.group_id")
    .whereIn("m.user_id", ids).whereNull("g.deleted_at").orderBy("m.group_id").select("m.user_id", "m.group_id");
  return rows.map((r) => ({
    id: r.id as string, tenantId: (r.tenant_id as string | null) ?? null, username: r.username as string, email: (r.email as string | null) ?? null,
    role: r.role as Role, status: r.status as UserStatus,
    groupIds: memberships.filter((m: { user_id: string }) => m.user_id === r.id).map((m: { group_id: string }) => m.group_id),
    quota: limitsFromConfig(r.quota_config), createdAt: new Date(r.created_at as string), updatedAt: new Date(r.updated_at as string),
    createdBy: (r.created_by as string | null) ?? null, updatedBy: (r.updated_by as string | null) ?? null,
  }));
}

export async function getUser(knex: Knex | Knex.Transaction, id: string, options: { forUpdate?: boolean } = {}): Promise<User> {
  const q = knex("users as u").where("u.id", id).whereNull("u.deleted_at").first(COLUMNS);
  if (options.forUpdate) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError("user", id);
  return (await withGroups(knex, [row]))[0]!;
}

export interface UserListQuery {
  tenantId: string | null;
  onlyUserId: string | null;
  role: string | null;
  status: string | null;
  groupId: string | null;
  usernameContains: string;
  pageSize: number;
  afterId: string | undefined;
}

export async function listUsers(knex: Knex, q: UserListQuery): Promise<{ items: User[]; nextPageToken: string }> {
  const query = knex("users as u").whereNull("u.deleted_at").orderBy("u.id").limit(q.pageSize + 1).select(COLUMNS);
  if (q.tenantId) query.where("u.tenant_id", q.tenantId);
  if (q.onlyUserId) query.where("u.id", q.onlyUserId);
  if (q.role) query.where("u.role", q.role);
  if (q.status) query.where("u.status", q.status);
  if (q.groupId) query.whereExists(knex("user_group_members as m").where("m.group_id", q.groupId).whereRaw("m.user_id = u.id"));
  if (q.usernameContains) query.whereRaw("position(lower(?) in lower(u.username)) > 0", [q.usernameContains]);
  if (q.afterId) query.where("u.id", ">", q.afterId);
  const page = pageOf((await query) as Record<string, unknown>[], q.pageSize, (r) => [r.id as string]);
  return { items: await withGroups(knex, page.items), nextPageToken: page.nextPageToken };
}

async function assertUsernameFree(trx: Knex.Transaction, tenantId: string | null, username: string): Promise<void> {
  const q = trx("users").whereNull("deleted_at").whereRaw("lower(username) = lower(?)", [username]).first("id");
  if (tenantId === null) q.whereNull("tenant_id");
  else q.where("tenant_id", tenantId);
  if (await q) throw new AlreadyExistsError("user", `username ${JSON.stringify(username)} is taken${tenantId ? ` in tenant ${tenantId}` : ""}`);
}

export interface NewUser {
  tenantId: string | null;
  username: string;
  email: string | null;
  password: string;
  role: Role;
}

export async function createUser(knex: Knex, ctx: ChangeContext, input: NewUser): Promise<User> {
  const passwordHash = await hashPassword(input.password); // outside the transaction: scrypt is slow
  return knex.transaction(async (trx) => {
    if (input.tenantId) {
      // Lock the tenant so concurrent creations of one username serialise on the check below.
      const tenant = await trx("tenants").where("id", input.tenantId).whereNull("deleted_at").forNoKeyUpdate().first("id");
      if (!tenant) throw new NotFoundError("tenant", input.tenantId);
    }
    await assertUsernameFree(trx, input.tenantId, input.username);
    const id = newId();
    await trx("users").insert({
      id, tenant_id: input.tenantId, username: input.username, email: input.email, password_hash: passwordHash, role: input.role,
      status: "active", created_at: ctx.at, updated_at: ctx.at, created_by: ctx.principal.userId, updated_by: ctx.principal.userId,
    });
    const user = await getUser(trx, id);
    await recordChange(trx, ctx, { tenantId: input.tenantId, action: "user.create", targetType: "user", targetId: id, after: user });
    return user;
  });
}

/** Tenant row before user row: the order quota reservations lock in, so the two never deadlock. */
async function lockTenantOf(trx: Knex.Transaction, userId: string): Promise<void> {
  const current = await getUser(trx, userId);
  if (current.tenantId) await trx("tenants").where("id", current.tenantId).forNoKeyUpdate().first("id");
}

export interface UserPatch {
  email?: string | null;
  role?: Role;
  status?: UserStatus;
  password?: string;
}

/** `authorize` sees the locked current row before anything is written (scoping rules live in the service). */
export async function updateUser(knex: Knex, ctx: ChangeContext, id: string, patch: UserPatch, authorize: (current: User) => void): Promise<User> {
  const passwordHash = patch.password === undefined ? undefined : await hashPassword(patch.password);
  return knex.transaction(async (trx) => {
    await lockTenantOf(trx, id);
    const before = await getUser(trx, id, { forUpdate: true });
    authorize(before);
    const row: Record<string, unknown> = { updated_at: ctx.at, updated_by: ctx.principal.userId };
    if (patch.email !== undefined) row.email = patch.email;
    if (patch.role !== undefined) row.role = patch.role;
    if (patch.status !== undefined) row.status = patch.status;
    if (passwordHash !== undefined) row.password_hash = passwordHash;
    if (patch.status === "active") Object.assign(row, { failed_login_count: 0, locked_until: null });
    await trx("users").where("id", id).update(row);
    // A tenant's admin must hold the tenant_admin role (000 §4.1); a demotion clears the link.
    if (patch.role !== undefined && patch.role !== "tenant_admin") {
      await trx("tenants").where("admin_user_id", id).update({ admin_user_id: null, updated_at: ctx.at, updated_by: ctx.principal.userId });
    }
    // A locked or disabled account, or a changed password, ends every session at once.
    if ((patch.status !== undefined && patch.status !== "active") || passwordHash !== undefined) await revokeUserTokens(trx, id, ctx.at);
    const after = await getUser(trx, id);
    await recordChange(trx, ctx, { tenantId: before.tenantId, action: "user.update", targetType: "user", targetId: id, before, after: { ...after, ...(passwordHash ? { password: "changed" } : {}) } });
    return after;
  });
}

/** Soft delete; refused while the user still holds quota (owns resources), which would be orphaned. */
export async function deleteUser(knex: Knex, ctx: ChangeContext, id: string, authorize: (current: User) => void): Promise<void> {
  await knex.transaction(async (trx) => {
    await lockTenantOf(trx, id);
    const before = await getUser(trx, id, { forUpdate: true });
    authorize(before);
    const held = await trx("quota_consumers").where("user_id", id).count({ n: "*" }).first();
    if (Number(held?.n) > 0) throw new FailedPreconditionError(`Cannot delete user ${id}: it still owns ${Number(held?.n)} instances or disks`);
    await trx("users").where("id", id).update({ deleted_at: ctx.at, updated_at: ctx.at, updated_by: ctx.principal.userId });
    await trx("user_group_members").where("user_id", id).delete();
    await trx("tenants").where("admin_user_id", id).update({ admin_user_id: null, updated_at: ctx.at, updated_by: ctx.principal.userId });
    await revokeUserTokens(trx, id, ctx.at);
    await recordChange(trx, ctx, { tenantId: before.tenantId, action: "user.delete", targetType: "user", targetId: id, before });
  });
}
