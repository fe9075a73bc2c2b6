import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { UserSchema, UserService, type User as UserMessage } from "../../gen/edgehub/admin/v1/user_pb.js";
import { callerOf } from "../api/caller.js";
import { etagOf } from "../api/etag.js";
import { updatePaths } from "../api/field-mask.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest } from "../api/page-token.js";
import { ROLE, type Principal, type Role } from "../api/principal.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { assertOwnerVisible, denyUnless, scopeTenantFilter } from "../api/tenant-scope.js";
import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import { USER_STATUS } from "./identity-enums.js";
import { validEmail, validUsername } from "./identity-rules.js";
import { checkPassword } from "../auth/password-policy.js";
import { changeUserStatus, setUserPassword, type UserVerb } from "./user-lifecycle.js";
import { createUser, deleteUser, getUser, listUsers, updateUser, type User, type UserPatch } from "./user-store.js";

const MANAGERS = ["admin", "tenant_admin"] as const;
export const userServicePolicy: ServicePolicy<typeof UserService> = {
  createUser: rolesAllowed(...MANAGERS),
  getUser: rolesAllowed(...MANAGERS, "user"),
  listUsers: rolesAllowed(...MANAGERS, "user"),
  updateUser: rolesAllowed(...MANAGERS),
  deleteUser: rolesAllowed(...MANAGERS),
  disableUser: rolesAllowed(...MANAGERS),
  enableUser: rolesAllowed(...MANAGERS),
  lockUser: rolesAllowed(...MANAGERS),
  unlockUser: rolesAllowed(...MANAGERS),
  setUserPassword: rolesAllowed(...MANAGERS),
};

const UPDATABLE = ["email", "role"] as const;
const TENANT_ROLES: readonly Role[] = ["tenant_admin", "user"];

function toMessage(u: User): UserMessage {
  return create(UserSchema, {
    id: u.id,
    tenantId: u.tenantId ?? "",
    username: u.username,
    email: u.email ?? "",
    role: ROLE.fromDb(u.role),
    status: USER_STATUS.fromDb(u.status),
    createTime: timestampFromDate(u.createdAt),
    updateTime: timestampFromDate(u.updatedAt),
    creatorId: u.createdBy ?? "",
    updaterId: u.updatedBy ?? "",
    etag: etagOf(u),
  });
}

/** tenant_admin grants only tenant roles; system roles (admin, operator) have no tenant, tenant roles need one. */
function checkRoleAndTenant(principal: Principal, role: Role, tenantId: string | null, tenantField: string): void {
  denyUnless(
    principal.role === "admin" || TENANT_ROLES.includes(role),
    `Permission denied: a ${principal.role} cannot grant role ${role}`,
  );
  if (TENANT_ROLES.includes(role) && tenantId === null)
    throw new InvalidArgumentError(tenantField, `is required for role ${role}`);
  if (!TENANT_ROLES.includes(role) && tenantId !== null)
    throw new InvalidArgumentError(tenantField, `must be empty for system role ${role}`);
}

/** The row-level rule for changing the role or status of, or deleting, `target`: visible, and never one's own account. */
function authorizeChange(principal: Principal, target: User, what: string): void {
  assertOwnerVisible(principal, { tenantId: target.tenantId, userId: target.id }, "user", target.id);
  if (target.id === principal.userId) {
    throw new FailedPreconditionError(`Cannot ${what} user ${target.id}: it is your own account`, {
      reason: "OWN_ACCOUNT",
      metadata: { user_id: target.id },
    });
  }
}

export function createUserService(deps: { knex: Knex; clock: Clock }): ServiceImpl<typeof UserService> {
  const change = async (id: string, verb: UserVerb, ctx: HandlerContext) => {
    const principal = principalOf(ctx);
    const user = await changeUserStatus(deps.knex, callerOf(ctx, deps.clock), requireId("id", id), verb, (current) =>
      authorizeChange(principal, current, verb),
    );
    return { user: toMessage(user) };
  };
  return {
    async createUser(req, ctx) {
      const principal = principalOf(ctx);
      const role = ROLE.toDb("role", req.role);
      // A tenant_admin creates in its own tenant; naming another tenant answers not_found.
      const requested = optionalId("tenant_id", req.tenantId);
      const tenantId = principal.role === "tenant_admin" ? scopeTenantFilter(principal, requested ?? "") : requested;
      checkRoleAndTenant(principal, role, tenantId, "tenant_id");
      const username = validUsername("username", req.username);
      const input = {
        tenantId,
        role,
        username,
        email: validEmail("email", req.email),
        password: checkPassword("password", req.password, username),
      };
      return { user: toMessage(await createUser(deps.knex, callerOf(ctx, deps.clock), input)) };
    },
    async getUser(req, ctx) {
      const id = requireId("id", req.id);
      const user = await getUser(deps.knex, id);
      assertOwnerVisible(principalOf(ctx), { tenantId: user.tenantId, userId: user.id }, "user", id);
      return { user: toMessage(user) };
    },
    async listUsers(req, ctx) {
      const principal = principalOf(ctx);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const query = {
        tenantId: scopeTenantFilter(principal, optionalId("tenant_id", req.tenantId) ?? ""),
        onlyUserId: principal.role === "user" ? principal.userId : null,
        role: ROLE.toDbFilter("role", req.role),
        status: USER_STATUS.toDbFilter("status", req.status),
        groupId: optionalId("group_id", req.groupId),
        usernameContains: req.usernameContains.trim(),
      };
      const result = await listUsers(deps.knex, query, page);
      return { users: result.items.map(toMessage), nextPageToken: result.nextPageToken };
    },
    async updateUser(req, ctx) {
      const principal = principalOf(ctx);
      if (!req.user) throw new InvalidArgumentError("user", "is required");
      const u = req.user;
      const id = requireId("user.id", u.id);
      const paths = updatePaths(req.updateMask, UPDATABLE);
      const patch: UserPatch = {};
      if (paths.has("email")) patch.email = validEmail("user.email", u.email);
      if (paths.has("role")) patch.role = ROLE.toDb("user.role", u.role);
      const user = await updateUser(deps.knex, callerOf(ctx, deps.clock), id, u.etag, patch, (current) => {
        assertOwnerVisible(principal, { tenantId: current.tenantId, userId: current.id }, "user", id);
        if (patch.role !== undefined) {
          authorizeChange(principal, current, "change the role of");
          checkRoleAndTenant(principal, patch.role, current.tenantId, "user.tenant_id");
        }
      });
      return { user: toMessage(user) };
    },
    async deleteUser(req, ctx) {
      const principal = principalOf(ctx);
      const id = requireId("id", req.id);
      await deleteUser(deps.knex, callerOf(ctx, deps.clock), id, (current) =>
        authorizeChange(principal, current, "delete"),
      );
      return {};
    },
    disableUser: (req, ctx) => change(req.id, "disable", ctx),
    enableUser: (req, ctx) => change(req.id, "enable", ctx),
    lockUser: (req, ctx) => change(req.id, "lock", ctx),
    unlockUser: (req, ctx) => change(req.id, "unlock", ctx),
    async setUserPassword(req, ctx) {
      const principal = principalOf(ctx);
      const id = requireId("id", req.id);
      const password = checkPassword("password", req.password, "");
      const user = await setUserPassword(deps.knex, callerOf(ctx, deps.clock), id, password, (current) => {
        assertOwnerVisible(principal, { tenantId: current.tenantId, userId: current.id }, "user", id);
        checkPassword("password", password, current.username);
      });
      return { user: toMessage(user) };
    },
  };
}
