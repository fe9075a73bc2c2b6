import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { TenantService } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import type { TestHub } from "../support/test-hub.js";

export const PASSWORD = "password-for-tests";

export interface TenantActors {
  tenantId: string;
  tenantName: string;
  tenantAdminId: string;
  tenantAdminToken: string;
  userId: string;
  userToken: string;
}

export interface World {
  adminToken: string;
  operatorToken: string;
  operatorId: string;
  a: TenantActors;
  b: TenantActors;
}

/** The code a call fails with; fails the test if the call succeeds. */
export async function codeOf(p: Promise<unknown>): Promise<Code> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err).code;
  }
  throw new Error("expected the call to fail");
}

export async function errorOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

async function tenantWithActors(t: TestHub, adminToken: string, name: string): Promise<TenantActors> {
  const tenant = (await t.client(TenantService, adminToken).createTenant({ name }))!.tenant!;
  const users = t.client(UserService, adminToken);
  const ta = (
    await users.createUser({
      tenantId: tenant.id,
      username: `${name}-admin`,
      email: `admin@${name}.example`,
      password: PASSWORD,
      role: Role.TENANT_ADMIN,
    })
  ).user!;
  const u = (
    await users.createUser({
      tenantId: tenant.id,
      username: `${name}-user`,
      email: `user@${name}.example`,
      password: PASSWORD,
      role: Role.USER,
    })
  ).user!;
  return {
    tenantId: tenant.id,
    tenantName: name,
    tenantAdminId: ta.id,
    userId: u.id,
    tenantAdminToken: await t.login(ta.username, PASSWORD, name),
    userToken: await t.login(u.username, PASSWORD, name),
  };
}

/** Two tenants (a tenant_admin and a user in each), an operator and the admin. */
export async function buildWorld(t: TestHub, prefix: string): Promise<World> {
  const adminToken = await t.adminToken();
  const op = (
    await t
      .client(UserService, adminToken)
      .createUser({ username: `${prefix}-operator`, password: PASSWORD, role: Role.OPERATOR })
  ).user!;
  return {
    adminToken,
    operatorId: op.id,
    operatorToken: await t.login(op.username, PASSWORD),
    a: await tenantWithActors(t, adminToken, `${prefix}-a`),
    b: await tenantWithActors(t, adminToken, `${prefix}-b`),
  };
}

export async function countRows(t: TestHub, table: string): Promise<number> {
  const row = await t.hub.db.knex(table).count({ n: "*" }).first();
  return Number(row!.n);
}
