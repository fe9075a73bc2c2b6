import { expect } from "chai";
import { TenantService } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserGroupService } from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { newId } from "../../hub/db/ids.js";
import { walkPages } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";

const ROWS = 2_500;

/** Inserts in chunks: one statement per 500 rows stays far below PostgreSQL's bind-parameter limit. */
async function insertMany(t: TestHub, table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await t.hub.db.knex(table).insert(rows.slice(i, i + 500));
}

describe("identity lists walk 2 500 rows in pages", function () {
  this.timeout(120_000);
  let t: TestHub;
  let admin: string;
  let tenantId: string;
  let groupId: string;
  const userIds: string[] = [];
  const groupIds: string[] = [];
  const tenantIds: string[] = [];

  before(async () => {
    t = await startTestHub();
    admin = await t.adminToken();
    for (let i = 0; i < ROWS; i++) tenantIds.push(newId());
    await insertMany(
      t,
      "tenants",
      tenantIds.map((id, i) => ({ id, name: `pg-tenant-${i}` })),
    );
    tenantId = tenantIds[0]!;
    for (let i = 0; i < ROWS; i++) userIds.push(newId());
    await insertMany(
      t,
      "users",
      userIds.map((id, i) => ({ id, tenant_id: tenantId, username: `pg-user-${i}`, password_hash: "x", role: "user" })),
    );
    for (let i = 0; i < ROWS; i++) groupIds.push(newId());
    await insertMany(
      t,
      "user_groups",
      groupIds.map((id, i) => ({ id, tenant_id: tenantId, name: `pg-group-${i}` })),
    );
    groupId = groupIds[0]!;
    await insertMany(
      t,
      "user_group_members",
      userIds.map((userId) => ({ group_id: groupId, user_id: userId })),
    );
  });
  after(async () => t?.stop());

  it("ListTenants", async () => {
    const seen = await walkPages(async (pageSize, pageToken) => {
      const res = await t.client(TenantService, admin).listTenants({ pageSize, pageToken });
      return { items: res.tenants, nextPageToken: res.nextPageToken };
    }, 333);
    expect(seen).to.deep.equal(tenantIds);
  });

  it("ListUsers (and its group filter)", async () => {
    const seen = await walkPages(async (pageSize, pageToken) => {
      const res = await t.client(UserService, admin).listUsers({ tenantId, pageSize, pageToken });
      return { items: res.users, nextPageToken: res.nextPageToken };
    }, 1000);
    expect(seen).to.deep.equal(userIds);
    const members = await walkPages(async (pageSize, pageToken) => {
      const res = await t.client(UserService, admin).listUsers({ groupId, pageSize, pageToken });
      return { items: res.users, nextPageToken: res.nextPageToken };
    }, 700);
    expect(members).to.deep.equal(userIds);
  });

  it("ListUserGroups", async () => {
    const seen = await walkPages(async (pageSize, pageToken) => {
      const res = await t.client(UserGroupService, admin).listUserGroups({ tenantId, pageSize, pageToken });
      return { items: res.groups, nextPageToken: res.nextPageToken };
    }, 250);
    expect(seen).to.deep.equal(groupIds);
  });

  it("ListGroupMembers", async () => {
    const seen = await walkPages(async (pageSize, pageToken) => {
      const res = await t.client(UserGroupService, admin).listGroupMembers({ groupId, pageSize, pageToken });
      return { items: res.members.map((m) => ({ ...m, id: m.userId })), nextPageToken: res.nextPageToken };
    }, 400);
    expect(seen).to.deep.equal(userIds);
  });

  it("clamps page_size to 1 000 and defaults 0 to 50", async () => {
    const users = t.client(UserService, admin);
    expect((await users.listUsers({ tenantId, pageSize: 5_000 })).users).to.have.length(1000);
    expect((await users.listUsers({ tenantId })).users).to.have.length(50);
  });
});
