import type { Knex } from "knex";
import { quotedInput } from "../api/size-limits.js";
import { whereContains } from "../db/contains-pattern.js";
import { SCOPED_LOCK_NAMESPACES, lockScope } from "../db/advisory-lock-keys.js";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from "../domain/errors.js";
import { configFromLimits, limitsFromConfig, type QuotaLimits } from "../quota/quota-dimensions.js";
import type { TenantStatus } from "./identity-enums.js";

export interface Tenant {
  id: string;
  name: string;
  description: string;
  status: TenantStatus;
  adminUserId: string | null;
  vlanId: number | null;
  quota: QuotaLimits;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

/** 1–99 are reserved for infrastructure networks (issue 4); 4095 is not a usable VLAN id. */
export const TENANT_VLAN_MIN = 100;
export const TENANT_VLAN_MAX = 4094;

const COLUMNS = [
  "id",
  "name",
  "description",
  "status",
  "admin_user_id",
  "vlan_id",
  "quota_config",
  "created_at",
  "updated_at",
  "created_by",
  "updated_by",
];

function toTenant(r: Record<string, unknown>): Tenant {
  return {
    id: r.id as string,
    name: r.name as string,
    description: r.description as string,
    status: r.status as TenantStatus,
    adminUserId: (r.admin_user_id as string | null) ?? null,
    vlanId: (r.vlan_id as number | null) ?? null,
    quota: limitsFromConfig(r.quota_config),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
    createdBy: (r.created_by as string | null) ?? null,
    updatedBy: (r.updated_by as string | null) ?? null,
  };
}

export async function getTenant(
  knex: Knex | Knex.Transaction,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<Tenant> {
  const q = knex("tenants").where("id", id).whereNull("deleted_at").first(COLUMNS);
  if (options.forUpdate) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError("tenant", id);
  return toTenant(row);
}

export interface TenantListQuery {
  status: TenantStatus | null;
  nameContains: string;
  /** Confines the list to one tenant (scoped callers). */
  onlyTenantId: string | null;
}

/** Stable order: by id (UUIDv7, creation order), keyset-paginated. */
export async function listTenants(knex: Knex, q: TenantListQuery, page: PageRequest): Promise<Page<Tenant>> {
  const query = knex("tenants")
    .whereNull("deleted_at")
    .orderBy("id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (q.status) query.where("status", q.status);
  if (q.nameContains) whereContains(query, "name", q.nameContains);
  if (q.onlyTenantId) query.where("id", q.onlyTenantId);
  if (page.after) query.where("id", ">", page.after[0]!);
  const rows = pageOf((await query) as Record<string, unknown>[], page, (r) => [r.id as string]);
  return { items: rows.items.map(toTenant), nextPageToken: rows.nextPageToken };
}

/** The lowest free VLAN id, under a transaction-scoped lock so concurrent creations never pick the same one. */
async function allocateVlan(trx: Knex.Transaction): Promise<number> {
  await lockScope(trx, SCOPED_LOCK_NAMESPACES.tenantVlans, "all");
  const res = await trx.raw(
    `SELECT min(v) AS vlan FROM generate_series(?::int, ?::int) AS v
     WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.vlan_id = v AND t.deleted_at IS NULL)`,
    [TENANT_VLAN_MIN, TENANT_VLAN_MAX],
  );
  const vlan = (res.rows as { vlan: number | null }[])[0]?.vlan;
  if (vlan === null || vlan === undefined) {
    throw new ResourceExhaustedError(
      `Cannot create tenant: all VLAN ids ${TENANT_VLAN_MIN}–${TENANT_VLAN_MAX} are in use`,
      { reason: "VLAN_POOL_EXHAUSTED" },
    );
  }
  return Number(vlan);
}

async function assertNameFree(trx: Knex.Transaction, name: string, exceptId?: string): Promise<void> {
  const q = trx("tenants").whereNull("deleted_at").whereRaw("lower(name) = lower(?)", [name]).first("id");
  if (exceptId) q.whereNot("id", exceptId);
  if (await q) throw new AlreadyExistsError("tenant", `name ${quotedInput(name)} is taken`);
}

export interface NewTenant {
  name: string;
  description: string;
  quota: QuotaLimits;
}

export async function createTenant(knex: Knex, ctx: Caller, input: NewTenant): Promise<Tenant> {
  return knex.transaction(async (trx) => {
    await lockScope(trx, SCOPED_LOCK_NAMESPACES.tenantVlans, "all"); // also serialises the name check
    await assertNameFree(trx, input.name);
    const id = newId();
    const vlanId = await allocateVlan(trx);
    await trx("tenants").insert({
      id,
      name: input.name,
      description: input.description,
      status: "active",
      vlan_id: vlanId,
      quota_config: JSON.stringify(configFromLimits(input.quota)),
      created_at: ctx.at,
      updated_at: ctx.at,
      created_by: ctx.principal.userId,
      updated_by: ctx.principal.userId,
    });
    const tenant = await getTenant(trx, id);
    await recordChange(trx, ctx, {
      tenantId: id,
      action: "tenant.create",
      targetType: "tenant",
      targetId: id,
      after: tenant,
    });
    return tenant;
  });
}

export interface TenantPatch {
  name?: string;
  description?: string;
  /** null clears the tenant admin. */
  adminUserId?: string | null;
}

/** `etag` (empty: unchecked) must be the current tenant's, checked on the locked row before anything is written. */
export async function updateTenant(
  knex: Knex,
  ctx: Caller,
  id: string,
  etag: string,
  patch: TenantPatch,
): Promise<Tenant> {
  return knex.transaction(async (trx) => {
    const before = await getTenant(trx, id, { forUpdate: true });
    checkEtag(etag, before, "tenant", id);
    const row: Record<string, unknown> = { updated_at: ctx.at, updated_by: ctx.principal.userId };
    if (patch.name !== undefined) {
      await lockScope(trx, SCOPED_LOCK_NAMESPACES.tenantVlans, "all");
      await assertNameFree(trx, patch.name, id);
      row.name = patch.name;
    }
    if (patch.description !== undefined) row.description = patch.description;
    if (patch.adminUserId !== undefined) {
      if (patch.adminUserId !== null) {
        const admin = await trx("users")
          .where({ id: patch.adminUserId, tenant_id: id })
          .whereNull("deleted_at")
          .first("role");
        if (!admin)
          throw new InvalidArgumentError(
            "tenant.admin_user_id",
            `user ${patch.adminUserId} is not a user of tenant ${id}`,
          );
        if (admin.role !== "tenant_admin")
          throw new InvalidArgumentError(
            "tenant.admin_user_id",
            `user ${patch.adminUserId} has role ${admin.role}, not tenant_admin`,
          );
      }
      row.admin_user_id = patch.adminUserId;
    }
    await trx("tenants").where("id", id).update(row);
    const after = await getTenant(trx, id);
    await recordChange(trx, ctx, {
      tenantId: id,
      action: "tenant.update",
      targetType: "tenant",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

/** Soft delete; refused while the tenant still has live users or groups, which would be orphaned. */
export async function deleteTenant(knex: Knex, ctx: Caller, id: string): Promise<void> {
  await knex.transaction(async (trx) => {
    const before = await getTenant(trx, id, { forUpdate: true });
    const users = await trx("users").where("tenant_id", id).whereNull("deleted_at").count({ n: "*" }).first();
    const groups = await trx("user_groups").where("tenant_id", id).whereNull("deleted_at").count({ n: "*" }).first();
    const held = await trx("quota_consumers").where("tenant_id", id).count({ n: "*" }).first();
    if (Number(users?.n) > 0 || Number(groups?.n) > 0 || Number(held?.n) > 0) {
      throw new FailedPreconditionError(
        `Cannot delete tenant ${id}: it still has ${Number(users?.n)} users, ${Number(groups?.n)} groups and ${Number(held?.n)} instances or disks; delete them first`,
        {
          reason: "TENANT_NOT_EMPTY",
          metadata: {
            users: String(Number(users?.n)),
            groups: String(Number(groups?.n)),
            instances_and_disks: String(Number(held?.n)),
          },
        },
      );
    }
    await trx("tenants")
      .where("id", id)
      .update({ deleted_at: ctx.at, updated_at: ctx.at, updated_by: ctx.principal.userId });
    await recordChange(trx, ctx, { tenantId: id, action: "tenant.delete", targetType: "tenant", targetId: id, before });
  });
}

/** The verb that puts a tenant in each status, for its audit action (`tenant.suspend`, …). */
const STATUS_VERB: Record<TenantStatus, string> = { active: "activate", inactive: "deactivate", suspended: "suspend" };

/**
 * Activate, deactivate or suspend: every status may follow every other; asking for the current
 * one changes nothing (no write, no audit row), so a retried call is harmless.
 */
export async function setTenantStatus(knex: Knex, ctx: Caller, id: string, status: TenantStatus): Promise<Tenant> {
  return knex.transaction(async (trx) => {
    const before = await getTenant(trx, id, { forUpdate: true });
    if (before.status === status) return before;
    await trx("tenants").where("id", id).update({ status, updated_at: ctx.at, updated_by: ctx.principal.userId });
    // A tenant taken out of service ends its users' sessions; login refuses them until it is active again.
    if (status !== "active") {
      await trx("auth_tokens")
        .whereNull("revoked_at")
        .whereIn("user_id", trx("users").where("tenant_id", id).select("id"))
        .update({ revoked_at: ctx.at });
    }
    const after = await getTenant(trx, id);
    await recordChange(trx, ctx, {
      tenantId: id,
      action: `tenant.${STATUS_VERB[status]}`,
      targetType: "tenant",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}
