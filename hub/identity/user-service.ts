import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { UserSchema, UserService, type User as UserMessage } from "../../gen/edgehub/admin/v1/user_pb.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { principalOf } from "../api/request-context.js";
import type { Principal, Role } from "../api/principal.js";
import { changeContextOf } from "../audit/record-change.js";
import { assertOwnerVisible, denyUnless, scopeTenantFilter } from "../api/tenant-scope.js";
import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import { USER_STATUSES, oneOf, optionalId, requireId, validEmail, validPassword, validRole, validUsername } from "./identity-rules.js";
import { decodePageToken, pageSizeOf } from "./page-token.js";
import { createUser, deleteUser, getUser, listUsers, updateUser, type User, type UserPatch } from "./user-store.js";

export const userServicePolicy: ServicePolicy<typeof UserService> = {
  createUser: rolesAllowed("admin", "tenant_admin"),
  getUser: rolesAllowed("admin", "tenant_admin", "user"),
  listUsers: rolesAllowed("admin", "tenant_admin", "user"),
  updateUser: rolesAllowed("admin", "tenant_admin"),
  deleteUser: rolesAllowed("admin", "tenant_admin"),
};

const TENANT_ROLES: readonly Role[] = ["tenant_admin", "user"];

function toMessage(u: User): UserMessage {
  return create(UserSchema, {
    id: u.id, tenantId: u.tenantId ?? "", username: u.username, email: u.email ?? "", role: u.role, status: u.status, groupIds: u.groupIds,
    createdAt: timestampFromDate(u.createdAt), updatedAt: timestampFromDate(u.updatedAt), createdBy: u.createdBy ?? "", updatedBy: u.updatedBy ?? "",
  });
}

/** tenant_admin grants only tenant roles; system roles (admin, operator) have no tenant, tenant roles need one. */
function checkRoleAndTenant(principal: Principal, role: Role, tenantId: string | null): void {
  denyUnless(principal.role === "admin" || TENANT_ROLES.includes(role), `Permission denied: a ${principal.role} cannot grant role ${role}`);
  if (TENANT_ROLES.includes(role) && tenantId === null) throw new InvalidArgumentError("tenant_id", `is required for role ${role}`);
  if (!TENANT_ROLES.includes(role) && tenantId !== null) throw new InvalidArgumentError("tenant_id", `must be empty for system role ${role}`);
}

/** The row-level rule for changing or deleting `target`: visible, and never one's own account. */
function authorizeChange(principal: Principal, target: User, what: string): void {
  assertOwnerVisible(principal, { tenantId: target.tenantId, userId: target.id }, "user", target.id);
  if (target.id === principal.userId) throw new FailedPreconditionError(`Cannot ${what} user ${target.id}: it is your own account`);
}

export function createUserService(deps: { knex: Knex; clock: Clock }): ServiceImpl<typeof UserService> {
  return {
    async createUser(req, ctx) {
      const principal = principalOf(ctx);
      const role = validRole(req.role);
      // A tenant_admin creates in its own tenant; naming another tenant answers not_found.
      const requested = optionalId("tenant_id", req.tenantId);
      const tenantId = principal.role === "tenant_admin" ? scopeTenantFilter(principal, requested ?? "") : requested;
      checkRoleAndTenant(principal, role, tenantId);
      const input = { tenantId, role, username: validUsername(req.username), email: validEmail(req.email), password: validPassword(req.password) };
      return { user: toMessage(await createUser(deps.knex, changeContextOf(ctx, deps.clock), input)) };
    },
    async getUser(req, ctx) {
      const id = requireId("id", req.id);
      const user = await getUser(deps.knex, id);
      assertOwnerVisible(principalOf(ctx), { tenantId: user.tenantId, userId: user.id }, "user", id);
      return { user: toMessage(user) };
    },
    async listUsers(req, ctx) {
      const principal = principalOf(ctx);
      const page = await listUsers(deps.knex, {
        tenantId: scopeTenantFilter(principal, optionalId("tenant_id", req.tenantId) ?? ""),
        onlyUserId: principal.role === "user" ? principal.userId : null,
        role: req.role === "" ? null : validRole(req.role),
        status: req.status === "" ? null : oneOf("status", req.status, USER_STATUSES),
        groupId: optionalId("group_id", req.groupId),
        usernameContains: req.usernameContains.trim(),
        pageSize: pageSizeOf(req.pageSize),
        afterId: decodePageToken(req.pageToken, 1)?.[0],
      });
      return { users: page.items.map(toMessage), nextPageToken: page.nextPageToken };
    },
    async updateUser(req, ctx) {
      const principal = principalOf(ctx);
      const id = requireId("id", req.id);
      const patch: UserPatch = {};
      if (req.email !== undefined) patch.email = validEmail(req.email);
      if (req.role !== undefined) patch.role = validRole(req.role);
      if (req.status !== undefined) patch.status = oneOf("status", req.status, USER_STATUSES);
      if (req.password !== undefined) patch.password = validPassword(req.password);
      const user = await updateUser(deps.knex, changeContextOf(ctx, deps.clock), id, patch, (current) => {
        assertOwnerVisible(principal, { tenantId: current.tenantId, userId: current.id }, "user", id);
        if (patch.role !== undefined || patch.status !== undefined) authorizeChange(principal, current, "change the role or status of");
        if (patch.role !== undefined) checkRoleAndTenant(principal, patch.role, current.tenantId);
      });
      return { user: toMessage(user) };
    },
    async deleteUser(req, ctx) {
      const principal = principalOf(ctx);
      const id = requireId("id", req.id);
      await deleteUser(deps.knex, changeContextOf(ctx, deps.clock), id, (current) => authorizeChange(principal, current, "delete"));
      return {};
    },
  };
}
