import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { QuotaMode } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { TenantService, TenantStatus } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserGroupService } from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { buildWorld, codeOf, countRows, errorOf, type World } from "./identity-fixtures.js";

const UNKNOWN = "0190a000-0000-7000-8000-000000000000";

describe("identity API conventions", function () {
  this.timeout(60_000);
  let t: TestHub;
  let w: World;
  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "conv");
  });
  after(async () => t?.stop());

  const tenants = () => t.client(TenantService, w.adminToken);
  const users = () => t.client(UserService, w.adminToken);
  const groups = () => t.client(UserGroupService, w.adminToken);

  /** Runs `stale` after the resource changed under it: aborted, ETAG_MISMATCH, and neither `table` nor audit_log changed. */
  async function expectStaleRefused(table: string, id: string, stale: () => Promise<unknown>): Promise<void> {
    const row = await t.hub.db.knex(table).where("id", id).first();
    const audit = await countRows(t, "audit_log");
    const err = await errorOf(stale());
    expect(err.code).to.equal(Code.Aborted);
    expect(errorReasons(err)).to.deep.equal(["ETAG_MISMATCH"]);
    expect(await t.hub.db.knex(table).where("id", id).first()).to.deep.equal(row);
    expect(await countRows(t, "audit_log")).to.equal(audit);
  }

  describe("a stale etag is refused and nothing is written", () => {
    it("UpdateTenant", async () => {
      const read = (await tenants().getTenant({ id: w.a.tenantId })).tenant!;
      const changed = (
        await tenants().updateTenant({
          tenant: { id: read.id, etag: read.etag, description: "first" },
          updateMask: { paths: ["description"] },
        })
      ).tenant!;
      expect(changed.etag).to.not.equal(read.etag);
      await expectStaleRefused("tenants", read.id, () =>
        tenants().updateTenant({
          tenant: { id: read.id, etag: read.etag, name: "conv-lost" },
          updateMask: { paths: ["name"] },
        }),
      );
      // A verb changes the etag too: an update read before it is stale.
      await tenants().suspendTenant({ id: read.id });
      await expectStaleRefused("tenants", read.id, () =>
        tenants().updateTenant({
          tenant: { id: read.id, etag: changed.etag, description: "x" },
          updateMask: { paths: ["description"] },
        }),
      );
      const now = (await tenants().activateTenant({ id: read.id })).tenant!;
      expect(
        (
          await tenants().updateTenant({
            tenant: { id: read.id, etag: now.etag, description: "second" },
            updateMask: { paths: ["description"] },
          })
        ).tenant!.description,
      ).to.equal("second");
    });

    it("UpdateUser", async () => {
      const read = (await users().getUser({ id: w.a.userId })).user!;
      await users().updateUser({
        user: { id: read.id, etag: read.etag, email: "one@example.org" },
        updateMask: { paths: ["email"] },
      });
      await expectStaleRefused("users", read.id, () =>
        users().updateUser({
          user: { id: read.id, etag: read.etag, role: Role.TENANT_ADMIN },
          updateMask: { paths: ["role"] },
        }),
      );
    });

    it("UpdateUserGroup", async () => {
      const read = (await groups().createUserGroup({ tenantId: w.a.tenantId, name: "conv-g" })).group!;
      await groups().addGroupMembers({ groupId: read.id, userIds: [w.a.userId] });
      await expectStaleRefused("user_groups", read.id, () =>
        groups().updateUserGroup({
          group: { id: read.id, etag: read.etag, quotaMode: QuotaMode.HYBRID },
          updateMask: { paths: ["quota_mode"] },
        }),
      );
    });
  });

  describe("bad input names the field (google.rpc.BadRequest)", () => {
    it("TenantService", async () => {
      expect(violatedFields(await errorOf(tenants().createTenant({ name: " " })))).to.deep.equal(["name"]);
      expect(
        violatedFields(await errorOf(tenants().createTenant({ name: "conv-q", quota: { maxInstances: -1 } }))),
      ).to.deep.equal(["quota.max_instances"]);
      expect(
        violatedFields(
          await errorOf(
            tenants().updateTenant({ tenant: { id: w.a.tenantId, name: "" }, updateMask: { paths: ["name"] } }),
          ),
        ),
      ).to.deep.equal(["tenant.name"]);
      expect(
        violatedFields(await errorOf(tenants().updateTenant({ tenant: { id: w.a.tenantId, name: "x" } }))),
      ).to.deep.equal(["update_mask"]);
      expect(
        violatedFields(
          await errorOf(tenants().updateTenant({ tenant: { id: w.a.tenantId }, updateMask: { paths: ["vlan_id"] } })),
        ),
      ).to.deep.equal(["update_mask"]);
      expect(violatedFields(await errorOf(tenants().listTenants({ status: 7 as TenantStatus })))).to.deep.equal([
        "status",
      ]);
      expect(violatedFields(await errorOf(tenants().listTenants({ pageToken: "garbage" })))).to.deep.equal([
        "page_token",
      ]);
    });

    it("UserService", async () => {
      expect(
        violatedFields(
          await errorOf(users().createUser({ tenantId: w.a.tenantId, username: "conv-u", password: "password-is-ok" })),
        ),
      ).to.deep.equal(["role"]);
      expect(
        violatedFields(
          await errorOf(
            users().updateUser({ user: { id: w.a.userId, email: "nope" }, updateMask: { paths: ["email"] } }),
          ),
        ),
      ).to.deep.equal(["user.email"]);
      expect(
        violatedFields(
          await errorOf(users().updateUser({ user: { id: w.a.userId }, updateMask: { paths: ["status"] } })),
        ),
      ).to.deep.equal(["update_mask"]);
      expect(violatedFields(await errorOf(users().updateUser({ updateMask: { paths: ["email"] } })))).to.deep.equal([
        "user",
      ]);
    });

    it("UserGroupService", async () => {
      expect(violatedFields(await errorOf(groups().createUserGroup({ name: "conv-no-tenant" })))).to.deep.equal([
        "tenant_id",
      ]);
      expect(
        violatedFields(await errorOf(groups().addGroupMembers({ groupId: UNKNOWN, userIds: ["x"] }))),
      ).to.deep.equal(["user_ids[0]"]);
      expect(
        violatedFields(await errorOf(groups().listGroupMembers({ groupId: UNKNOWN, pageSize: -1 }))),
      ).to.deep.equal(["page_size"]);
    });

    it("AuthService", async () => {
      expect(
        violatedFields(await errorOf(t.client(AuthService).login({ username: "admin", password: "" }))),
      ).to.deep.equal(["password"]);
    });
  });

  describe("a malformed id is invalid_argument, a well-formed unknown one not_found", () => {
    const cases: [string, (id: string) => Promise<unknown>, string][] = [
      ["GetTenant", (id) => tenants().getTenant({ id }), "id"],
      [
        "UpdateTenant",
        (id) => tenants().updateTenant({ tenant: { id, name: "conv-x" }, updateMask: { paths: ["name"] } }),
        "tenant.id",
      ],
      ["SuspendTenant", (id) => tenants().suspendTenant({ id }), "id"],
      ["DeleteTenant", (id) => tenants().deleteTenant({ id }), "id"],
      ["GetUser", (id) => users().getUser({ id }), "id"],
      [
        "UpdateUser",
        (id) => users().updateUser({ user: { id, email: "" }, updateMask: { paths: ["email"] } }),
        "user.id",
      ],
      ["SetUserPassword", (id) => users().setUserPassword({ id, password: "password-is-ok" }), "id"],
      ["DeleteUser", (id) => users().deleteUser({ id }), "id"],
      ["GetUserGroup", (id) => groups().getUserGroup({ id }), "id"],
      [
        "UpdateUserGroup",
        (id) => groups().updateUserGroup({ group: { id, name: "conv-x" }, updateMask: { paths: ["name"] } }),
        "group.id",
      ],
      ["DeleteUserGroup", (id) => groups().deleteUserGroup({ id }), "id"],
      ["AddGroupMembers", (id) => groups().addGroupMembers({ groupId: id, userIds: [w.a.userId] }), "group_id"],
      ["ListGroupMembers", (id) => groups().listGroupMembers({ groupId: id }), "group_id"],
    ];
    for (const [method, call, field] of cases) {
      it(method, async () => {
        const bad = await errorOf(call("not-a-uuid"));
        expect([bad.code, violatedFields(bad)]).to.deep.equal([Code.InvalidArgument, [field]]);
        expect(await codeOf(call(UNKNOWN))).to.equal(Code.NotFound);
      });
    }

    it("an unknown user among a group's new members", async () => {
      const g = (await groups().createUserGroup({ tenantId: w.a.tenantId, name: "conv-members" })).group!;
      expect(await codeOf(groups().addGroupMembers({ groupId: g.id, userIds: [UNKNOWN] }))).to.equal(Code.NotFound);
      expect(await codeOf(groups().addGroupMembers({ groupId: g.id, userIds: ["nope"] }))).to.equal(
        Code.InvalidArgument,
      );
    });
  });

  it("VLAN pool exhaustion carries reason VLAN_POOL_EXHAUSTED", async () => {
    // Fill every free VLAN id without going through the API (thousands of tenants would take minutes).
    const used = new Set(
      await t.hub.db.knex("tenants").whereNull("deleted_at").whereNotNull("vlan_id").pluck("vlan_id"),
    );
    const rows: Record<string, unknown>[] = [];
    for (let v = 100; v <= 4094; v++)
      if (!used.has(v))
        rows.push({ id: `0190a000-0000-7000-8000-${String(v).padStart(12, "0")}`, name: `conv-vlan-${v}`, vlan_id: v });
    await t.hub.db.knex.transaction(async (trx) => {
      for (let i = 0; i < rows.length; i += 500) await trx("tenants").insert(rows.slice(i, i + 500));
    });
    const err = await errorOf(tenants().createTenant({ name: "conv-one-too-many" }));
    expect([err.code, errorReasons(err)]).to.deep.equal([Code.ResourceExhausted, ["VLAN_POOL_EXHAUSTED"]]);
    await t.hub.db.knex("tenants").whereLike("name", "conv-vlan-%").delete();
  });
});
