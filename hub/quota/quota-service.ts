import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { DimensionUsageSchema, QuotaSchema, QuotaService, type Quota } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { callerOf } from "../api/caller.js";
import { etagOf } from "../api/etag.js";
import { updatePaths } from "../api/field-mask.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import type { Principal } from "../api/principal.js";
import { principalOf } from "../api/request-context.js";
import { requireId } from "../api/resource-id.js";
import { assertTenantVisible, denyUnless } from "../api/tenant-scope.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { validateLimits } from "./quota-dimensions.js";
import {
  QUOTA_DIMENSION,
  QUOTA_HOLDER_TYPE,
  QUOTA_MODE,
  QUOTA_USAGE_LEVEL,
  managedHolderType,
  quotaLimitsFromProto,
  quotaLimitsToProto,
} from "./quota-enums.js";
import {
  UPDATABLE_QUOTA_PATHS,
  holderQuota,
  overLimit,
  quotaView,
  updateQuota,
  type HolderQuota,
  type ManagedHolderType,
} from "./quota-holders.js";
import { usageReport } from "./usage-report.js";

export const quotaServicePolicy: ServicePolicy<typeof QuotaService> = {
  getQuota: rolesAllowed("admin", "tenant_admin", "user"),
  updateQuota: rolesAllowed("admin", "tenant_admin"),
  getQuotaUsage: rolesAllowed("admin", "tenant_admin", "user"),
};

const NOUN: Record<ManagedHolderType, string> = { tenant: "tenant", group: "user group", user: "user" };

/**
 * Who may read a holder's quota and usage: admin all; tenant_admin its tenant and what is in it;
 * user itself and groups it belongs to (its tenant's totals are not its own resources).
 */
async function assertQuotaVisible(knex: Knex, principal: Principal, h: HolderQuota): Promise<void> {
  assertTenantVisible(principal, h.tenantId, NOUN[h.type], h.id);
  if (principal.role !== "user") return;
  if (h.type === "user" && h.id === principal.userId) return;
  if (
    h.type === "group" &&
    (await knex("user_group_members").where({ group_id: h.id, user_id: principal.userId }).first("group_id"))
  )
    return;
  if (h.type === "tenant") denyUnless(false, "Permission denied: a user cannot read its tenant's quota");
  throw new NotFoundError(NOUN[h.type], h.id);
}

function quotaToProto(h: HolderQuota): Quota {
  return create(QuotaSchema, {
    holderType: QUOTA_HOLDER_TYPE.fromDb(h.type),
    holderId: h.id,
    limits: quotaLimitsToProto(h.limits),
    overQuotaDimensions: overLimit(h.used, h.limits).map((d) => QUOTA_DIMENSION.fromDb(d)),
    etag: etagOf(quotaView(h)),
  });
}

async function visibleHolder(
  knex: Knex,
  principal: Principal,
  req: { holderType: number; holderId: string },
): Promise<HolderQuota> {
  const type = managedHolderType("holder_type", req.holderType);
  const holder = await holderQuota(knex, type, requireId("holder_id", req.holderId));
  await assertQuotaVisible(knex, principal, holder);
  return holder;
}

export function createQuotaService(deps: { knex: Knex; clock: Clock }): ServiceImpl<typeof QuotaService> {
  return {
    async getQuota(req, ctx) {
      return { quota: quotaToProto(await visibleHolder(deps.knex, principalOf(ctx), req)) };
    },
    async updateQuota(req, ctx) {
      const caller = callerOf(ctx, deps.clock);
      if (!req.quota) throw new InvalidArgumentError("quota", "is required");
      const type = managedHolderType("quota.holder_type", req.quota.holderType);
      const id = requireId("quota.holder_id", req.quota.holderId);
      const paths = updatePaths(req.updateMask, UPDATABLE_QUOTA_PATHS);
      const limits = validateLimits(quotaLimitsFromProto(req.quota.limits), "quota.limits");
      const updated = await updateQuota(
        deps.knex,
        caller,
        type,
        id,
        { limits, paths, etag: req.quota.etag, refuseIfOverUse: req.refuseIfOverUse },
        (h) => {
          assertTenantVisible(caller.principal, h.tenantId, NOUN[type], id);
          // 000 §10.1: only the super administrator changes tenant quotas.
          denyUnless(
            type !== "tenant" || caller.principal.role === "admin",
            "Permission denied: only admin sets tenant quotas",
          );
        },
      );
      return { quota: quotaToProto(updated) };
    },
    async getQuotaUsage(req, ctx) {
      const holder = await visibleHolder(deps.knex, principalOf(ctx), req);
      return {
        holderType: QUOTA_HOLDER_TYPE.fromDb(holder.type),
        holderId: holder.id,
        quotaMode: holder.quotaMode === null ? 0 : QUOTA_MODE.fromDb(holder.quotaMode),
        dimensions: usageReport(holder.used, holder.limits).map((u) =>
          create(DimensionUsageSchema, {
            dimension: QUOTA_DIMENSION.fromDb(u.dimension),
            used: u.used,
            limited: u.limit !== null,
            limit: u.limit ?? 0,
            percentage: u.percentage,
            level: QUOTA_USAGE_LEVEL.fromDb(u.level),
          }),
        ),
        overQuota: overLimit(holder.used, holder.limits).length > 0,
      };
    },
  };
}
