import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { recordChange } from "../audit/record-change.js";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import {
  DIMENSIONS,
  configFromLimits,
  limitsFromConfig,
  type Dimension,
  type QuotaLimits,
  type Resources,
} from "./quota-dimensions.js";
import { groupUsage, ledgerUsage, type HolderType, type QuotaMode } from "./quota-usage.js";

/** The holders a person sets limits on; instance sets get theirs with the instance-set issue. */
export type ManagedHolderType = Exclude<HolderType, "instance_set">;

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
export async function holderQuota(
  knex: Knex | Knex.Transaction,
  type: ManagedHolderType,
  id: string,
  options: { lock?: boolean } = {},
): Promise<HolderQuota> {
  const columns =
    type === "tenant"
      ? ["id", "quota_config"]
      : type === "group"
        ? ["id", "tenant_id", "quota_config", "quota_mode"]
        : ["id", "tenant_id", "quota_config"];
  const q = knex(TABLE[type]).where("id", id).whereNull("deleted_at").first(columns);
  if (options.lock) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError(NOUN[type], id);
  const quotaMode = type === "group" ? (row.quota_mode as QuotaMode) : null;
  const used = type === "group" ? await groupUsage(knex, id, quotaMode!) : await ledgerUsage(knex, type, id);
  return {
    type,
    id,
    tenantId: type === "tenant" ? id : (row.tenant_id ?? null),
    quotaMode,
    limits: limitsFromConfig(row.quota_config),
    used,
  };
}

export function overLimit(used: Resources, limits: QuotaLimits): Dimension[] {
  return DIMENSIONS.filter((d) => limits[d] !== undefined && used[d] > limits[d]!);
}

/** The domain form of a Quota resource: what its etag covers (not use, which moves without an update). */
export function quotaView(h: Pick<HolderQuota, "type" | "id" | "limits">): {
  holderType: ManagedHolderType;
  holderId: string;
  limits: Record<string, number>;
} {
  return { holderType: h.type, holderId: h.id, limits: configFromLimits(h.limits) };
}

/** The paths UpdateQuota accepts: all limits at once, or one dimension (`limits.max_cpu_cores`). */
export const UPDATABLE_QUOTA_PATHS = ["limits", ...DIMENSIONS.map((d) => `limits.max_${d}` as const)] as const;
export type QuotaPath = (typeof UPDATABLE_QUOTA_PATHS)[number];

/** The limits after an update: `limits` replaces all; `limits.max_<d>` sets (or, unset, clears) one. */
export function applyLimitPaths(
  current: QuotaLimits,
  requested: QuotaLimits,
  paths: ReadonlySet<QuotaPath>,
): QuotaLimits {
  if (paths.has("limits")) return { ...requested };
  const out: QuotaLimits = { ...current };
  for (const d of DIMENSIONS) {
    if (!paths.has(`limits.max_${d}`)) continue;
    if (requested[d] === undefined) delete out[d];
    else out[d] = requested[d];
  }
  return out;
}

export interface QuotaUpdate {
  limits: QuotaLimits;
  paths: ReadonlySet<QuotaPath>;
  /** The etag the caller read; empty skips the check. */
  etag: string;
  /** 000 §10.5 option 1: refuse instead of marking the holder over quota. */
  refuseIfOverUse: boolean;
}

/**
 * Changes a holder's limits. Current use above a new limit follows 000 §10.5 option 2 by default
 * (allowed; the holder is over quota and can create nothing new until use falls) or option 1 when
 * `refuseIfOverUse` (refused, nothing written). `authorize` sees the holder before anything is
 * written; a stale etag is refused after it, so another tenant's holder stays not_found.
 */
export async function updateQuota(
  knex: Knex,
  caller: Caller,
  type: ManagedHolderType,
  id: string,
  update: QuotaUpdate,
  authorize: (holder: HolderQuota) => void,
): Promise<HolderQuota> {
  return knex.transaction(async (trx) => {
    const before = await holderQuota(trx, type, id, { lock: true });
    authorize(before);
    checkEtag(update.etag, quotaView(before), `quota of ${NOUN[type]}`, id);
    const limits = applyLimitPaths(before.limits, update.limits, update.paths);
    const over = overLimit(before.used, limits);
    if (update.refuseIfOverUse && over.length > 0) {
      const detail = over.map((d) => `${d} used ${before.used[d]} > new limit ${limits[d]}`).join("; ");
      throw new FailedPreconditionError(
        `Cannot lower the quota of ${NOUN[type]} ${id}: current use exceeds it (${detail}); release resources first`,
        {
          reason: "QUOTA_BELOW_USAGE",
          metadata: { holder_type: type, holder_id: id, dimensions: over.join(",") },
        },
      );
    }
    await trx(TABLE[type])
      .where("id", id)
      .update({
        quota_config: JSON.stringify(configFromLimits(limits)),
        updated_at: caller.at,
        updated_by: caller.principal.userId,
      });
    await recordChange(trx, caller, {
      tenantId: before.tenantId,
      action: "quota.update",
      targetType: type === "group" ? "user_group" : type,
      targetId: id,
      before: { limits: configFromLimits(before.limits) },
      after: { limits: configFromLimits(limits), over_quota: over },
    });
    return { ...before, limits };
  });
}
