import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { requireId } from "../api/resource-id.js";
import { assertTenantVisible } from "../api/tenant-scope.js";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from "../domain/errors.js";

/** The owner of a new disk: the caller, or a user a tenant_admin / admin names (in scope). */
export async function diskOwnerOf(
  knex: Knex,
  caller: Caller,
  userId: string,
  field = "disk.user_id",
): Promise<{ userId: string; tenantId: string }> {
  const p = caller.principal;
  if (userId === "" || userId === p.userId) {
    if (p.tenantId === null)
      throw new InvalidArgumentError(field, "must name the owner: a system account belongs to no tenant");
    return { userId: p.userId, tenantId: p.tenantId };
  }
  const id = requireId(field, userId);
  const row = (await knex("users").where({ id }).whereNull("deleted_at").first("id", "tenant_id")) as
    { id: string; tenant_id: string | null } | undefined;
  if (!row) throw new NotFoundError("user", id);
  assertTenantVisible(p, row.tenant_id, "user", id);
  // A user creates only for itself; another user's id answers like a missing one.
  if (p.role === "user") throw new NotFoundError("user", id);
  if (row.tenant_id === null)
    throw new InvalidArgumentError(field, `user ${id} is a system account and cannot own disks`);
  return { userId: row.id, tenantId: row.tenant_id };
}

/** Disk names are unique per owner among live disks (a partial unique index backs this up). */
export async function assertDiskNameFree(knex: Knex, userId: string, name: string, exceptId?: string): Promise<void> {
  const q = knex("private_data_disks")
    .where({ user_id: userId })
    .whereNull("deleted_at")
    .whereRaw("lower(name) = lower(?)", [name]);
  if (exceptId) q.whereNot({ id: exceptId });
  if (await q.first("id")) throw new AlreadyExistsError("disk", `the owner already has a disk named "${name}"`);
}
