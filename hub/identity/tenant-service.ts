import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { TenantSchema, TenantService, type Tenant as TenantMessage } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { principalOf } from "../api/request-context.js";
import { changeContextOf } from "../audit/record-change.js";
import { assertTenantVisible, tenantFilterFor } from "../api/tenant-scope.js";
import { quotaLimitsFromProto, quotaLimitsToProto } from "../quota/quota-service.js";
import { TENANT_STATUSES, oneOf, optionalId, requireId, validName } from "./identity-rules.js";
import { decodePageToken, pageSizeOf } from "./page-token.js";
import { createTenant, deleteTenant, getTenant, listTenants, updateTenant, type Tenant, type TenantPatch } from "./tenant-store.js";

// Only admin changes tenants; tenant-scoped roles read their own tenant and learn of no other.
export const tenantServicePolicy: ServicePolicy<typeof TenantService> = {
  createTenant: rolesAllowed("admin"),
  getTenant: rolesAllowed("admin", "tenant_admin", "user"),
  listTenants: rolesAllowed("admin", "tenant_admin", "user"),
  updateTenant: rolesAllowed("admin"),
  deleteTenant: rolesAllowed("admin"),
};

function toMessage(t: Tenant): TenantMessage {
  return create(TenantSchema, {
    id: t.id, name: t.name, description: t.description, status: t.status, adminUserId: t.adminUserId ?? "", vlanId: t.vlanId ?? 0,
    quota: quotaLimitsToProto(t.quota), createdAt: timestampFromDate(t.createdAt), updatedAt: timestampFromDate(t.updatedAt),
    createdBy: t.createdBy ?? "", updatedBy: t.updatedBy ?? "",
  });
}

export function createTenantService(deps: { knex: Knex; clock: Clock }): ServiceImpl<typeof TenantService> {
  return {
    async createTenant(req, ctx) {
      const input = { name: validName("name", req.name), description: req.description.trim(), quota: quotaLimitsFromProto(req.quota, "quota") };
      return { tenant: toMessage(await createTenant(deps.knex, changeContextOf(ctx, deps.clock), input)) };
    },
    async getTenant(req, ctx) {
      const id = requireId("id", req.id);
      assertTenantVisible(principalOf(ctx), id);
      return { tenant: toMessage(await getTenant(deps.knex, id)) };
    },
    async listTenants(req, ctx) {
      const page = await listTenants(deps.knex, {
        status: req.status === "" ? null : oneOf("status", req.status, TENANT_STATUSES),
        nameContains: req.nameContains.trim(),
        onlyTenantId: tenantFilterFor(principalOf(ctx)),
        pageSize: pageSizeOf(req.pageSize),
        afterId: decodePageToken(req.pageToken, 1)?.[0],
      });
      return { tenants: page.items.map(toMessage), nextPageToken: page.nextPageToken };
    },
    async updateTenant(req, ctx) {
      const id = requireId("id", req.id);
      const patch: TenantPatch = {};
      if (req.name !== undefined) patch.name = validName("name", req.name);
      if (req.description !== undefined) patch.description = req.description.trim();
      if (req.status !== undefined) patch.status = oneOf("status", req.status, TENANT_STATUSES);
      if (req.adminUserId !== undefined) patch.adminUserId = optionalId("admin_user_id", req.adminUserId);
      return { tenant: toMessage(await updateTenant(deps.knex, changeContextOf(ctx, deps.clock), id, patch)) };
    },
    async deleteTenant(req, ctx) {
      await deleteTenant(deps.knex, changeContextOf(ctx, deps.clock), requireId("id", req.id));
      return {};
    },
  };
}
