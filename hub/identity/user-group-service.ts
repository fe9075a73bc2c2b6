import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { QuotaMode } from "../../gen/edgehub/admin/v1/quota_pb.js";
import {
  GroupMemberSchema,
  UserGroupSchema,
  UserGroupService,
  type UserGroup as UserGroupMessage,
} from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { callerOf } from "../api/caller.js";
import { etagOf } from "../api/etag.js";
import { updatePaths } from "../api/field-mask.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest } from "../api/page-token.js";
import type { Principal } from "../api/principal.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { assertTenantVisible, scopeTenantFilter } from "../api/tenant-scope.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { validateLimits } from "../quota/quota-dimensions.js";
import { QUOTA_MODE, quotaLimitsFromProto, quotaLimitsToProto } from "../quota/quota-enums.js";
import { validName } from "./identity-rules.js";
import {
  changeMembers,
  createUserGroup,
  deleteUserGroup,
  getUserGroup,
  isGroupMember,
  listGroupMembers,
  listUserGroups,
  updateUserGroup,
  type UserGroup,
  type UserGroupPatch,
} from "./user-group-store.js";

const MANAGERS = ["admin", "tenant_admin"] as const;
export const userGroupServicePolicy: ServicePolicy<typeof UserGroupService> = {
  createUserGroup: rolesAllowed(...MANAGERS),
  getUserGroup: rolesAllowed(...MANAGERS, "user"),
  listUserGroups: rolesAllowed(...MANAGERS, "user"),
  updateUserGroup: rolesAllowed(...MANAGERS),
  deleteUserGroup: rolesAllowed(...MANAGERS),
  addGroupMembers: rolesAllowed(...MANAGERS),
  removeGroupMembers: rolesAllowed(...MANAGERS),
  listGroupMembers: rolesAllowed(...MANAGERS, "user"),
};

const UPDATABLE = ["name", "description", "parent_group_id", "quota_mode"] as const;

function toMessage(g: UserGroup): UserGroupMessage {
  return create(UserGroupSchema, {
    id: g.id,
    tenantId: g.tenantId,
    name: g.name,
    description: g.description,
    parentGroupId: g.parentGroupId ?? "",
    quotaMode: QUOTA_MODE.fromDb(g.quotaMode),
    quota: quotaLimitsToProto(g.quota),
    createTime: timestampFromDate(g.createdAt),
    updateTime: timestampFromDate(g.updatedAt),
    creatorId: g.createdBy ?? "",
    updaterId: g.updatedBy ?? "",
    etag: etagOf(g),
  });
}

/** A `user` sees only groups it belongs to; others see their tenant's (or all, for admin). */
async function assertGroupVisible(knex: Knex, principal: Principal, g: UserGroup): Promise<void> {
  assertTenantVisible(principal, g.tenantId, "user group", g.id);
  if (principal.role === "user" && !(await isGroupMember(knex, g.id, principal.userId)))
    throw new NotFoundError("user group", g.id);
}

function userIdsOf(ids: string[]): string[] {
  if (ids.length === 0) throw new InvalidArgumentError("user_ids", "must not be empty");
  return ids.map((id, i) => requireId(`user_ids[${i}]`, id));
}

export function createUserGroupService(deps: { knex: Knex; clock: Clock }): ServiceImpl<typeof UserGroupService> {
  // Writers are admin or tenant_admin: tenant scoping is the whole row-level rule.
  const scoped = (principal: Principal) => (g: UserGroup) =>
    assertTenantVisible(principal, g.tenantId, "user group", g.id);
  return {
    async createUserGroup(req, ctx) {
      const principal = principalOf(ctx);
      const requested = optionalId("tenant_id", req.tenantId);
      const tenantId = scopeTenantFilter(principal, requested ?? "");
      if (tenantId === null) throw new InvalidArgumentError("tenant_id", "must not be empty");
      const input = {
        tenantId,
        name: validName("name", req.name),
        description: req.description.trim(),
        parentGroupId: optionalId("parent_group_id", req.parentGroupId),
        quotaMode:
          req.quotaMode === QuotaMode.UNSPECIFIED
            ? ("independent" as const)
            : QUOTA_MODE.toDb("quota_mode", req.quotaMode),
        quota: validateLimits(quotaLimitsFromProto(req.quota), "quota"),
      };
      return { group: toMessage(await createUserGroup(deps.knex, callerOf(ctx, deps.clock), input)) };
    },
    async getUserGroup(req, ctx) {
      const group = await getUserGroup(deps.knex, requireId("id", req.id));
      await assertGroupVisible(deps.knex, principalOf(ctx), group);
      return { group: toMessage(group) };
    },
    async listUserGroups(req, ctx) {
      const principal = principalOf(ctx);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      let memberUserId = optionalId("member_user_id", req.memberUserId);
      if (principal.role === "user") {
        // A user learns of no one else's memberships.
        if (memberUserId !== null && memberUserId !== principal.userId) throw new NotFoundError("user", memberUserId);
        memberUserId = principal.userId;
      }
      const query = {
        tenantId: scopeTenantFilter(principal, optionalId("tenant_id", req.tenantId) ?? ""),
        parentGroupId: optionalId("parent_group_id", req.parentGroupId),
        memberUserId,
      };
      const result = await listUserGroups(deps.knex, query, page);
      return { groups: result.items.map(toMessage), nextPageToken: result.nextPageToken };
    },
    async updateUserGroup(req, ctx) {
      if (!req.group) throw new InvalidArgumentError("group", "is required");
      const g = req.group;
      const id = requireId("group.id", g.id);
      const paths = updatePaths(req.updateMask, UPDATABLE);
      const patch: UserGroupPatch = {};
      if (paths.has("name")) patch.name = validName("group.name", g.name);
      if (paths.has("description")) patch.description = g.description.trim();
      if (paths.has("parent_group_id")) patch.parentGroupId = optionalId("group.parent_group_id", g.parentGroupId);
      if (paths.has("quota_mode")) patch.quotaMode = QUOTA_MODE.toDb("group.quota_mode", g.quotaMode);
      const group = await updateUserGroup(
        deps.knex,
        callerOf(ctx, deps.clock),
        id,
        g.etag,
        patch,
        scoped(principalOf(ctx)),
      );
      return { group: toMessage(group) };
    },
    async deleteUserGroup(req, ctx) {
      await deleteUserGroup(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), scoped(principalOf(ctx)));
      return {};
    },
    async addGroupMembers(req, ctx) {
      const group = await changeMembers(
        deps.knex,
        callerOf(ctx, deps.clock),
        requireId("group_id", req.groupId),
        userIdsOf(req.userIds),
        "add",
        scoped(principalOf(ctx)),
      );
      return { group: toMessage(group) };
    },
    async removeGroupMembers(req, ctx) {
      const group = await changeMembers(
        deps.knex,
        callerOf(ctx, deps.clock),
        requireId("group_id", req.groupId),
        userIdsOf(req.userIds),
        "remove",
        scoped(principalOf(ctx)),
      );
      return { group: toMessage(group) };
    },
    async listGroupMembers(req, ctx) {
      const id = requireId("group_id", req.groupId);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      await assertGroupVisible(deps.knex, principalOf(ctx), await getUserGroup(deps.knex, id));
      const result = await listGroupMembers(deps.knex, id, page);
      return {
        members: result.items.map((m) =>
          create(GroupMemberSchema, {
            userId: m.userId,
            username: m.username,
            createTime: timestampFromDate(m.joinedAt),
          }),
        ),
        nextPageToken: result.nextPageToken,
      };
    },
  };
}
