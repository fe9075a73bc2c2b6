import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AuditService } from "../../gen/edgehub/admin/v1/audit_pb.js";
import { QuotaService } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { TenantService } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserGroupService } from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { ManualClock } from "../../lib/clock/clock.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { buildWorld, codeOf, countRows, PASSWORD, type World } from "../identity/identity-fixtures.js";

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

  it("writes exactly one audit row per mutating admin call, naming actor, tenant, action, target, before, after and request id", async () => {
    const tenants = t.client(TenantService, w.adminToken);
    const users = t.client(UserService, w.a.tenantAdminToken);
    const groups = t.client(UserGroupService, w.a.tenantAdminToken);
    let target = "";
    const steps: [string, () => Promise<string>][] = [
      ["tenant.create", async () => (await tenants.createTenant({ name: "aud-x" })).tenant!.id],
      ["tenant.update", async () => (await tenants.updateTenant({ id: target, status: "suspended" })).tenant!.id],
      ["tenant.delete", async () => { await tenants.deleteTenant({ id: target }); return target; }],
      ["user.create", async () => (await users.createUser({ username: "aud-u", password: PASSWORD, role: "user" })).user!.id],
      ["user.update", async () => (await users.updateUser({ id: target, email: "u@example.org" })).user!.id],
      ["quota.set", async () => { await t.client(QuotaService, w.a.tenantAdminToken).setQuota({ holderType: "user", holderId: target, limits: { maxInstances: 2 } }); return target; }],
      ["user.delete", async () => { await users.deleteUser({ id: target }); return target; }],
      ["user_group.create", async () => (await groups.createUserGroup({ name: "aud-g" })).group!.id],
      ["user_group.update", async () => (await groups.updateUserGroup({ id: target, quotaMode: "hybrid" })).group!.id],
      ["user_group.add_members", async () => (await groups.addGroupMembers({ groupId: target, userIds: [w.a.userId] })).group!.id],
      ["user_group.remove_members", async () => (await groups.removeGroupMembers({ groupId: target, userIds: [w.a.userId] })).group!.id],
      ["user_group.delete", async () => { await groups.deleteUserGroup({ id: target }); return target; }],
    ];
    for (const [action, run] of steps) {
      const before = await countRows(t, "audit_log");
      clock.advance(1000);
      target = await run();
      expect(await countRows(t, "audit_log"), action).to.equal(before + 1);
      const row = await t.hub.db.knex("audit_log").orderBy([{ column: "at", order: "desc" }, { column: "id", order: "desc" }]).first();
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

  it("filters by action, target and time, newest first", async () => {
    const all = await audit(w.adminToken).listAuditLog({ action: "user.create", pageSize: 500 });
    expect(all.entries.length).to.be.greaterThan(3);
    expect(all.entries.every((e) => e.action === "user.create")).to.equal(true);
    const times = all.entries.map((e) => Number(e.at!.seconds));
    expect([...times].sort((a, b) => b - a)).to.deep.equal(times);
    const one = await audit(w.adminToken).listAuditLog({ targetType: "user", targetId: w.a.userId });
    expect(one.entries.length).to.be.greaterThan(0);
    expect(one.entries.every((e) => e.targetId === w.a.userId)).to.equal(true);
    const windowStart = new Date(clock.now().getTime() - 2500);
    const recent = await audit(w.adminToken).listAuditLog({ since: timestampFromDate(windowStart), pageSize: 500 });
    const inDb = await t.hub.db.knex("audit_log").where("at", ">=", windowStart).count({ n: "*" }).first();
    expect(recent.entries.length).to.equal(Number(inDb!.n));
    expect(recent.entries.length).to.be.greaterThan(0);
    expect(await codeOf(audit(w.adminToken).listAuditLog({ since: timestampFromDate(clock.now()), until: timestampFromDate(windowStart) }))).to.equal(Code.InvalidArgument);
  });

  it("paginates newest first with stable page tokens", async () => {
    const seen: string[] = [];
    let token = "";
    do {
      const page = await audit(w.adminToken).listAuditLog({ pageSize: 7, pageToken: token });
      seen.push(...page.entries.map((e) => e.id));
      token = page.nextPageToken;
    } while (token);
    const ids = await t.hub.db.knex("audit_log").orderBy([{ column: "at", order: "desc" }, { column: "id", order: "desc" }]).pluck("id");
    expect(seen).to.deep.equal(ids);
    expect(await codeOf(audit(w.adminToken).listAuditLog({ pageToken: "bm9wZQ" }))).to.equal(Code.InvalidArgument);
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
