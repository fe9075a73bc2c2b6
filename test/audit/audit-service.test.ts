import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AuditService } from "../../gen/edgehub/admin/v1/audit_pb.js";
import { QuotaHolderType, QuotaMode, QuotaService } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { TenantService } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserGroupService } from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { ManualClock } from "../../lib/clock/clock.js";
import { connectErrorOf } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { buildWorld, countRows, PASSWORD, type World } from "../identity/identity-fixtures.js";

describe("AuditService and the audit trail", function () {
  const clock = new ManualClock();
  let t: TestHub;
  let w: World;
  before(async () => {
    t = await startTestHub({ clock });
    w = await buildWorld(t, "aud");
  });
  after(async () => t?.stop());

  const audit = (token: string) => t.client(AuditService, token);
  const codeOf = async (p: Promise<unknown>) => (await connectErrorOf(p)).code;

  it("writes exactly one audit row per mutating admin call, naming actor, tenant, action, target, before, after and request id", async () => {
    const tenants = t.client(TenantService, w.adminToken);
    const users = t.client(UserService, w.a.tenantAdminToken);
    const groups = t.client(UserGroupService, w.a.tenantAdminToken);
    let target = "";
    const steps: [string, () => Promise<string>][] = [
      ["tenant.create", async () => (await tenants.createTenant({ name: "aud-x" })).tenant!.id],
      [
        "tenant.update",
        async () =>
          (
            await tenants.updateTenant({
              tenant: { id: target, description: "audited" },
              updateMask: { paths: ["description"] },
            })
          ).tenant!.id,
      ],
      ["tenant.suspend", async () => (await tenants.suspendTenant({ id: target })).tenant!.id],
      [
        "tenant.delete",
        async () => {
          await tenants.deleteTenant({ id: target });
          return target;
        },
      ],
      [
        "user.create",
        async () => (await users.createUser({ username: "aud-u", password: PASSWORD, role: Role.USER })).user!.id,
      ],
      [
        "user.update",
        async () =>
          (await users.updateUser({ user: { id: target, email: "u@example.org" }, updateMask: { paths: ["email"] } }))
            .user!.id,
      ],
      [
        "quota.update",
        async () => {
          const quota = { holderType: QuotaHolderType.USER, holderId: target, limits: { maxInstances: 2 } };
          return (
            await t.client(QuotaService, w.a.tenantAdminToken).updateQuota({ quota, updateMask: { paths: ["limits"] } })
          ).quota!.holderId;
        },
      ],
      [
        "user.delete",
        async () => {
          await users.deleteUser({ id: target });
          return target;
        },
      ],
      ["user_group.create", async () => (await groups.createUserGroup({ name: "aud-g" })).group!.id],
      [
        "user_group.update",
        async () =>
          (
            await groups.updateUserGroup({
              group: { id: target, quotaMode: QuotaMode.HYBRID },
              updateMask: { paths: ["quota_mode"] },
            })
          ).group!.id,
      ],
      [
        "user_group.add_members",
        async () => (await groups.addGroupMembers({ groupId: target, userIds: [w.a.userId] })).group!.id,
      ],
      [
        "user_group.remove_members",
        async () => (await groups.removeGroupMembers({ groupId: target, userIds: [w.a.userId] })).group!.id,
      ],
      [
        "user_group.delete",
        async () => {
          await groups.deleteUserGroup({ id: target });
          return target;
        },
      ],
    ];
    for (const [action, run] of steps) {
      const before = await countRows(t, "audit_log");
      clock.advance(1000);
      target = await run();
      expect(await countRows(t, "audit_log"), action).to.equal(before + 1);
      const row = await t.hub.db
        .knex("audit_log")
        .orderBy([
          { column: "at", order: "desc" },
          { column: "id", order: "desc" },
        ])
        .first();
      expect(row.action).to.equal(action);
      expect(row.target_id).to.equal(target);
      expect(row.request_id).to.match(/^[0-9a-f-]{36}$/);
      expect(new Date(row.at).getTime()).to.equal(clock.now().getTime());
      if (action.endsWith(".update")) expect(row.before, action).to.not.equal(null);
      if (action.endsWith(".create")) expect(row.after, action).to.not.equal(null);
      if (action.startsWith("user")) {
        expect(row.tenant_id).to.equal(w.a.tenantId);
        expect(row.actor_user_id).to.equal(w.a.tenantAdminId);
      }
    }
  });

  it("returns before and after as structured objects and the entry time as create_time", async () => {
    const [entry] = (await audit(w.adminToken).listAuditLog({ action: "quota.update", pageSize: 1 })).entries;
    expect(entry!.before).to.deep.equal({ limits: {} });
    expect(entry!.after).to.deep.equal({ limits: { max_instances: 2 }, over_quota: [] });
    const row = await t.hub.db.knex("audit_log").where("id", entry!.id).first();
    expect(timestampDate(entry!.createTime!).getTime()).to.equal(new Date(row.at).getTime());
    const [created] = (await audit(w.adminToken).listAuditLog({ action: "user_group.create", pageSize: 1 })).entries;
    expect(created!.before).to.equal(undefined);
    expect(created!.after).to.include({ name: "aud-g" });
  });

  it("filters by action, target and time, newest first", async () => {
    const all = await audit(w.adminToken).listAuditLog({ action: "user.create", pageSize: 500 });
    expect(all.entries.length).to.be.greaterThan(3);
    expect(all.entries.every((e) => e.action === "user.create")).to.equal(true);
    const times = all.entries.map((e) => timestampDate(e.createTime!).getTime());
    expect([...times].sort((a, b) => b - a)).to.deep.equal(times);
    const one = await audit(w.adminToken).listAuditLog({ targetType: "user", targetId: w.a.userId });
    expect(one.entries.length).to.be.greaterThan(0);
    expect(one.entries.every((e) => e.targetId === w.a.userId)).to.equal(true);
    const windowStart = new Date(clock.now().getTime() - 2500);
    const recent = await audit(w.adminToken).listAuditLog({ since: timestampFromDate(windowStart), pageSize: 500 });
    const inDb = await t.hub.db.knex("audit_log").where("at", ">=", windowStart).count({ n: "*" }).first();
    expect(recent.entries.length).to.equal(Number(inDb!.n));
    expect(recent.entries.length).to.be.greaterThan(0);
    expect(
      await codeOf(
        audit(w.adminToken).listAuditLog({
          since: timestampFromDate(clock.now()),
          until: timestampFromDate(windowStart),
        }),
      ),
    ).to.equal(Code.InvalidArgument);
  });

  it("tenant_admin sees only its tenant's rows; another tenant's id is not_found", async () => {
    const mine = await audit(w.a.tenantAdminToken).listAuditLog({ pageSize: 500 });
    expect(mine.entries.length).to.be.greaterThan(0);
    expect(mine.entries.every((e) => e.tenantId === w.a.tenantId)).to.equal(true);
    expect(await codeOf(audit(w.a.tenantAdminToken).listAuditLog({ tenantId: w.b.tenantId }))).to.equal(Code.NotFound);
    const byTarget = await audit(w.a.tenantAdminToken).listAuditLog({ targetId: w.b.userId });
    expect(byTarget.entries).to.deep.equal([]);
  });

  it("user and operator cannot read the audit log", async () => {
    expect(await codeOf(audit(w.a.userToken).listAuditLog({}))).to.equal(Code.PermissionDenied);
    expect(await codeOf(audit(w.operatorToken).listAuditLog({}))).to.equal(Code.PermissionDenied);
  });
});
