import type { Knex } from "knex";
import { recordChange, type ChangeContext } from "../audit/record-change.js";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { DIMENSIONS, configFromLimits, limitsFromConfig, type Dimension, type QuotaLimits, type Resources } from "./quota-dimensions.js";
import { groupUsage, ledgerUsage, type QuotaMode } from "./quota-usage.js";

/** The holders a person sets limits on; instance sets get theirs with the instance-set issue. */
export type ManagedHolderType = "tenant" | "group" | "user";

const TABLE: Record<ManagedHolderType, string> = { tenant: "tenants", group: "user_groups", user: "users" };
const NOUN: Record<ManagedHolderType, string> = { tenant: "tenant", group: "user group", user: "user" };

export interface HolderQuota {
  type: ManagedHolderType;
  id: string;
  /** The holder's tenant (its own id for a tenant); null for system users. */
  tenantId: string | null;
  quotaMode: QuotaMode | null;
  limits: QuotaLimits;
  used: Resources;
}

/** Reads a holder's limits and use; with `lock`, holds its row so reservations wait (same row they lock). */
export async function holderQuota(knex: Knex | Knex.Transaction, type: ManagedHolderType, id: string, options: { lock?: boolean } = {}): Promise<HolderQuota> {
  const columns = type === "tenant" ? ["id", "quota_config"] : type === "group" ? ["id", "tenant_id", "quota_config", "quota_mode"] : ["id", "tenant_id", "quota_config"];
  const q = knex(TABLE[type]).where("id", id).whereNull("deleted_at").first(columns);
  if (options.lock) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError(NOUN[type], id);
  const quotaMode = type === "group" ? (row.quota_mode as QuotaMode) : null;
  const used = type === "group" ? await groupUsage(knex, id, quotaMode!) : await ledgerUsage(knex, type, id);
  return { type, id, tenantId: type === "tenant" ? id : (row.tenant_id ?? null), quotaMode, limits: limitsFromConfig(row.quota_config), used };
}

export function overLimit(used: Resources, limits: QuotaLimits): Dimension[] {
  return DIMENSIONS.filter((d) => limits[d] !== undefined && used[d] > limits[d]!);
}

/**
 * Replaces a holder's limits. Current use above a new limit follows 000 §10.5 option 2 by default
 * (allowed; the holder is over quota and can create nothing new until use falls) or option 1 when
 * `refuseIfOverUse` (refused, nothing written). `authorize` sees the holder before anything is written.
 */
export async function setQuota(
  knex: Knex, ctx: ChangeContext, type: ManagedHolderType, id: string, limits: QuotaLimits, refuseIfOverUse: boolean,
  authorize: (holder: HolderQuota) => void,
): Promise<{ limits: QuotaLimits; overQuota: Dimension[] }> {
  return knex.transaction(async (trx) => {
    const before = await holderQuota(trx, type, id, { lock: true });
    authorize(before);
    const over = overLimit(before.used, limits);
    if (refuseIfOverUse && over.length > 0) {
      const detail = over.map((d) => `${d} used ${before.used[d]} > new limit ${limits[d]}`).join("; ");
      throw new FailedPreconditionError(`Cannot lower the quota of ${NOUN[type]} ${id}: current use exceeds it (${detail}); release resources first`);
    }
    await trx(TABLE[type]).where("id", id).update({ quota_config: JSON.stringify(configFromLimits(limits)), updated_at: ctx.at, updated_by: ctx.principal.userId });
    await recordChange(trx, ctx, {
      tenantId: before.tenantId, action: "quota.set", targetType: type === "group" ? "user_group" : type, targetId: id,
      before: { limits: configFromLimits(before.limits) }, after: { limits: configFromLimits(limits), over_quota: over },
    });
    return { limits, overQuota: over };
  });
}
