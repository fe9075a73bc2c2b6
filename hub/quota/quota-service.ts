import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { DimensionUsageSchema, QuotaLimitsSchema, QuotaService, type QuotaLimits as QuotaLimitsMessage } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { principalOf } from "../api/request-context.js";
import type { Principal } from "../api/principal.js";
import { changeContextOf } from "../audit/record-change.js";
import { assertTenantVisible, denyUnless } from "../api/tenant-scope.js";
import { NotFoundError } from "../domain/errors.js";
import { oneOf, requireId } from "../identity/identity-rules.js";
import { validateLimits, type QuotaLimits } from "./quota-dimensions.js";
import { holderQuota, overLimit, setQuota, type HolderQuota, type ManagedHolderType } from "./quota-holders.js";
import { usageReport } from "./usage-report.js";

export const quotaServicePolicy: ServicePolicy<typeof QuotaService> = {
  getUsage: rolesAllowed("admin", "tenant_admin", "user"),
  setQuota: rolesAllowed("admin", "tenant_admin"),
};

// Wire ⇄ domain mapping of QuotaLimits, also used by the tenant and group services.
export function quotaLimitsFromProto(m: QuotaLimitsMessage | undefined, field: string): QuotaLimits {
  if (!m) return {};
  return validateLimits({
    instances: m.maxInstances, cpu_cores: m.maxCpuCores, memory_gb: m.maxMemoryGb, storage_gb: m.maxStorageGb,
    private_data_disk_gb: m.maxPrivateDataDiskGb, ip_addresses: m.maxIpAddresses, bandwidth_gbps: m.maxBandwidthGbps,
  }, field);
}

export function quotaLimitsToProto(l: QuotaLimits): QuotaLimitsMessage {
  return create(QuotaLimitsSchema, {
    maxInstances: l.instances, maxCpuCores: l.cpu_cores, maxMemoryGb: l.memory_gb, maxStorageGb: l.storage_gb,
    maxPrivateDataDiskGb: l.private_data_disk_gb, maxIpAddresses: l.ip_addresses, maxBandwidthGbps: l.bandwidth_gbps,
  });
}

const HOLDER_TYPES: readonly ManagedHolderType[] = ["tenant", "group", "user"];
const NOUN: Record<ManagedHolderType, string> = { tenant: "tenant", group: "user group", user: "user" };

/**
 * Who may read a holder's usage: admin all; tenant_admin its tenant and what is in it; user itself
 * and groups it belongs to (its tenant's totals are not its own resources).
 */
async function assertUsageVisible(knex: Knex, principal: Principal, h: HolderQuota): Promise<void> {
  assertTenantVisible(principal, h.tenantId, NOUN[h.type], h.id);
  if (principal.role !== "user") return;
  if (h.type === "user" && h.id === principal.userId) return;
  if (h.type === "group" && (await knex("user_group_members").where({ group_id: h.id, user_id: principal.userId }).first("group_id"))) return;
  if (h.type === "tenant") denyUnless(false, "Permission denied: a user cannot read its tenant's quota usage");
  throw new NotFoundError(NOUN[h.type], h.id);
}

export function createQuotaService(deps: { knex: Knex; clock: Clock }): ServiceImpl<typeof QuotaService> {
  return {
    async getUsage(req, ctx) {
      const type = oneOf("holder_type", req.holderType, HOLDER_TYPES);
      const holder = await holderQuota(deps.knex, type, requireId("holder_id", req.holderId));
      await assertUsageVisible(deps.knex, principalOf(ctx), holder);
      return {
        holderType: type, holderId: holder.id, quotaMode: holder.quotaMode ?? "",
        dimensions: usageReport(holder.used, holder.limits).map((u) => create(DimensionUsageSchema, {
          dimension: u.dimension, used: u.used, limited: u.limit !== null, limit: u.limit ?? 0, percentage: u.percentage, level: u.level,
        })),
        overQuota: overLimit(holder.used, holder.limits).length > 0,
      };
    },
    async setQuota(req, ctx) {
      const principal = principalOf(ctx);
      const type = oneOf("holder_type", req.holderType, HOLDER_TYPES);
      const id = requireId("holder_id", req.holderId);
      const limits = quotaLimitsFromProto(req.limits, "limits");
      const result = await setQuota(deps.knex, changeContextOf(ctx, deps.clock), type, id, limits, req.refuseIfOverUse, (h) => {
        assertTenantVisible(principal, h.tenantId, NOUN[type], id);
        // 000 §10.1: only the super administrator changes tenant quotas.
        denyUnless(type !== "tenant" || principal.role === "admin", "Permission denied: only admin sets tenant quotas");
      });
      return { limits: quotaLimitsToProto(result.limits), overQuotaDimensions: result.overQuota };
    },
  };
}
