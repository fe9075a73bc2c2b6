import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { TenantSchema, TenantService, type Tenant as TenantMessage } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { callerOf } from "../api/caller.js";
import { etagOf } from "../api/etag.js";
import { updatePaths } from "../api/field-mask.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest } from "../api/page-token.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { assertTenantVisible, tenantFilterFor } from "../api/tenant-scope.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { validateLimits } from "../quota/quota-dimensions.js";
import { quotaLimitsFromProto, quotaLimitsToProto } from "../quota/quota-enums.js";
import { TENANT_STATUS, type TenantStatus } from "./identity-enums.js";
import { validName } from "./identity-rules.js";
import {
  createTenant,
  deleteTenant,
  getTenant,
  listTenants,
  setTenantStatus,
  updateTenant,
  type Tenant,
  type TenantPatch,
} from "./tenant-store.js";

// Only admin changes tenants; tenant-scoped roles read their own tenant and learn of no other.
export const tenantServicePolicy: ServicePolicy<typeof TenantService> = {
  createTenant: rolesAllowed("admin"),
  getTenant: rolesAllowed("admin", "tenant_admin", "user"),
  listTenants: rolesAllowed("admin", "tenant_admin", "user"),
  updateTenant: rolesAllowed("admin"),
  deleteTenant: rolesAllowed("admin"),
  activateTenant: rolesAllowed("admin"),
  deactivateTenant: rolesAllowed("admin"),
  suspendTenant: rolesAllowed("admin"),
};

const UPDATABLE = ["name", "description", "admin_user_id"] as const;

function toMessage(t: Tenant): TenantMessage {
  return create(TenantSchema, {
    id: t.id,
    name: t.name,
    description: t.description,
    status: TENANT_STATUS.fromDb(t.status),
    adminUserId: t.adminUserId ?? "",
    vlanId: t.vlanId ?? 0,
    quota: quotaLimitsToProto(t.quota),
    createTime: timestampFromDate(t.createdAt),
    updateTime: timestampFromDate(t.updatedAt),
    creatorId: t.createdBy ?? "",
    updaterId: t.updatedBy ?? "",
    etag: etagOf(t),
  });
}

export function createTenantService(deps: { knex: Knex; clock: Clock }): ServiceImpl<typeof TenantService> {
  const setStatus = async (id: string, status: TenantStatus, ctx: HandlerContext) => ({
    tenant: toMessage(await setTenantStatus(deps.knex, callerOf(ctx, deps.clock), requireId("id", id), status)),
  });
  return {
    async createTenant(req, ctx) {
      const input = {
        name: validName("name", req.name),
        description: req.description.trim(),
        quota: validateLimits(quotaLimitsFromProto(req.quota), "quota"),
      };
      return { tenant: toMessage(await createTenant(deps.knex, callerOf(ctx, deps.clock), input)) };
    },
    async getTenant(req, ctx) {
      const id = requireId("id", req.id);
      assertTenantVisible(principalOf(ctx), id);
      return { tenant: toMessage(await getTenant(deps.knex, id)) };
    },
    async listTenants(req, ctx) {
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const query = {
        status: TENANT_STATUS.toDbFilter("status", req.status),
        nameContains: req.nameContains.trim(),
        onlyTenantId: tenantFilterFor(principalOf(ctx)),
      };
      const result = await listTenants(deps.knex, query, page);
      return { tenants: result.items.map(toMessage), nextPageToken: result.nextPageToken };
    },
    async updateTenant(req, ctx) {
      if (!req.tenant) throw new InvalidArgumentError("tenant", "is required");
      const t = req.tenant;
      const id = requireId("tenant.id", t.id);
      const paths = updatePaths(req.updateMask, UPDATABLE);
      const patch: TenantPatch = {};
      if (paths.has("name")) patch.name = validName("tenant.name", t.name);
      if (paths.has("description")) patch.description = t.description.trim();
      if (paths.has("admin_user_id")) patch.adminUserId = optionalId("tenant.admin_user_id", t.adminUserId);
      return { tenant: toMessage(await updateTenant(deps.knex, callerOf(ctx, deps.clock), id, t.etag, patch)) };
    },
    async deleteTenant(req, ctx) {
      await deleteTenant(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id));
      return {};
    },
    activateTenant: (req, ctx) => setStatus(req.id, "active", ctx),
    deactivateTenant: (req, ctx) => setStatus(req.id, "inactive", ctx),
    suspendTenant: (req, ctx) => setStatus(req.id, "suspended", ctx),
  };
}
