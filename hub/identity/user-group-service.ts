import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { UserGroupSchema, UserGroupService, type UserGroup as UserGroupMessage } from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { principalOf } from "../api/request-context.js";
import type { Principal } from "../api/principal.js";
import { changeContextOf } from "../audit/record-change.js";
import { assertTenantVisible, scopeTenantFilter } from "../api/tenant-scope.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { quotaLimitsFromProto, quotaLimitsToProto } from "../quota/quota-service.js";
import { QUOTA_MODES, oneOf, optionalId, requireId, validName } from "./identity-rules.js";
import { decodePageToken, pageSizeOf } from "./page-token.js";
import { changeMembers, createUserGroup, deleteUserGroup, getUserGroup, listUserGroups, updateUserGroup, type UserGroup, type UserGroupPatch } from "./user-group-store.js";

export const userGroupServicePolicy: ServicePolicy<typeof UserGroupService> = {
  createUserGroup: rolesAllowed("admin", "tenant_admin"),
  getUserGroup: rolesAllowed("admin", "tenant_admin", "user"),
  listUserGroups: rolesAllowed("admin", "tenant_admin", "user"),
  updateUserGroup: rolesAllowed("admin", "tenant_admin"),
  deleteUserGroup: rolesAllowed("admin", "tenant_admin"),
  addGroupMembers: rolesAllowed("admin", "tenant_admin"),
  removeGroupMembers: rolesAllowed("admin", "tenant_admin"),
};

function toMessage(g: UserGroup): UserGroupMessage {
  return create(UserGroupSchema, {
    id: g.id, tenantId: g.tenantId, name: g.name, description: g.description, parentGroupId: g.parentGroupId ?? "", quotaMode: g.quotaMode,
    quota: quotaLimitsToProto(g.quota), memberUserIds: g.memberUserIds, createdAt: timestampFromDate(g.createdAt), updatedAt: timestampFromDate(g.updatedAt),
    createdBy: g.createdBy ?? "", updatedBy: g.updatedBy ?? "",
  });
}

/** A `user` sees only groups it belongs to; others see their tenant's (or all, for admin). */
function assertGroupVisible(principal: Principal, g: UserGroup): void {
  assertTenantVisible(principal, g.tenantId, "user group", g.id);
  if (principal.role === "user" && !g.memberUserIds.includes(principal.userId)) throw new NotFoundError("user group", g.id);
}

function userIdsOf(ids: string[]): string[] {
  if (ids.length === 0) throw new InvalidArgumentError("user_ids", "must not be empty");
  return ids.map((id, i) => requireId(`user_ids[${i}]`, id));
}

export function createUserGroupService(deps: { knex: Knex; clock: Clock }): ServiceImpl<typeof UserGroupService> {
  return {
    async createUserGroup(req, ctx) {
      const principal = principalOf(ctx);
      const requested = optionalId("tenant_id", req.tenantId);
      const tenantId = scopeTenantFilter(principal, requested ?? "");
      if (tenantId === null) throw new InvalidArgumentError("tenant_id", "must not be empty");
      const input = {
        tenantId, name: validName("name", req.name), description: req.description.trim(),
        parentGroupId: optionalId("parent_group_id", req.parentGroupId),
        quotaMode: req.quotaMode === "" ? "independent" as const : oneOf("quota_mode", req.quotaMode, QUOTA_MODES),
        quota: quotaLimitsFromProto(req.quota, "quota"),
      };
      return { group: toMessage(await createUserGroup(deps.knex, changeContextOf(ctx, deps.clock), input)) };
    },
    async getUserGroup(req, ctx) {
      const group = await getUserGroup(deps.knex, requireId("id", req.id));
      assertGroupVisible(principalOf(ctx), group);
      return { group: toMessage(group) };
    },
    async listUserGroups(req, ctx) {
      const principal = principalOf(ctx);
      const page = await listUserGroups(deps.knex, {
        tenantId: scopeTenantFilter(principal, optionalId("tenant_id", req.tenantId) ?? ""),
        parentGroupId: optionalId("parent_group_id", req.parentGroupId),
        memberUserId: principal.role === "user" ? principal.userId : null,
        pageSize: pageSizeOf(req.pageSize),
        afterId: decodePageToken(req.pageToken, 1)?.[0],
      });
      return { groups: page.items.map(toMessage), nextPageToken: page.nextPageToken };
    },
    async updateUserGroup(req, ctx) {
      const principal = principalOf(ctx);
      const id = requireId("id", req.id);
      const patch: UserGroupPatch = {};
      if (req.name !== undefined) patch.name = validName("name", req.name);
      if (req.description !== undefined) patch.description = req.description.trim();
      if (req.parentGroupId !== undefined) patch.parentGroupId = optionalId("parent_group_id", req.parentGroupId);
      if (req.quotaMode !== undefined) patch.quotaMode = oneOf("quota_mode", req.quotaMode, QUOTA_MODES);
      const group = await updateUserGroup(deps.knex, changeContextOf(ctx, deps.clock), id, patch, (g) => assertGroupVisible(principal, g));
      return { group: toMessage(group) };
    },
    async deleteUserGroup(req, ctx) {
      const principal = principalOf(ctx);
      await deleteUserGroup(deps.knex, changeContextOf(ctx, deps.clock), requireId("id", req.id), (g) => assertGroupVisible(principal, g));
      return {};
    },
    async addGroupMembers(req, ctx) {
      const principal = principalOf(ctx);
      const group = await changeMembers(deps.knex, changeContextOf(ctx, deps.clock), requireId("group_id", req.groupId), userIdsOf(req.userIds), "add", (g) => assertGroupVisible(principal, g));
      return { group: toMessage(group) };
    },
    async removeGroupMembers(req, ctx) {
      const principal = principalOf(ctx);
      const group = await changeMembers(deps.knex, changeContextOf(ctx, deps.clock), requireId("group_id", req.groupId), userIdsOf(req.userIds), "remove", (g) => assertGroupVisible(principal, g));
      return { group: toMessage(group) };
    },
  };
}
