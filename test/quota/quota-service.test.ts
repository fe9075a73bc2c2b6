import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { QuotaService } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { UserGroupService } from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { newId } from "../../hub/db/ids.js";
import { ResourceExhaustedError } from "../../hub/domain/errors.js";
import { reserve, type QuotaRequest } from "../../hub/quota/quota-ledger.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { buildWorld, codeOf, countRows, errorOf, PASSWORD, type World } from "../identity/identity-fixtures.js";

describe("QuotaService", function () {
  let t: TestHub;
  let w: World;
  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "quo");
  });
  after(async () => t?.stop());

  const quota = (token: string) => t.client(QuotaService, token);
  async function newUser(name: string): Promise<string> {
    return (await t.client(UserService, w.adminToken).createUser({ tenantId: w.a.tenantId, username: name, password: PASSWORD, role: "user" })).user!.id;
  }
  function vm(userId: string, state: string, resources: QuotaRequest["resources"], id = newId()): QuotaRequest {
    return { consumer: { type: "instance", id }, tenantId: w.a.tenantId, userId, state, resources };
  }
  const put = (req: QuotaRequest) => t.hub.db.knex.transaction((trx) => reserve(trx, req));

  it("reports used, limit, percentage and the 80/90/95 % levels", async () => {
    const u = await newUser("quo-levels");
    await quota(w.adminToken).setQuota({ holderType: "user", holderId: u, limits: { maxCpuCores: 20 } });
    const levels: string[] = [];
    for (const cpus of [10, 6, 2, 1]) {
      await put(vm(u, "running", { cpu_cores: cpus }));
      const cpu = (await quota(w.adminToken).getUsage({ holderType: "user", holderId: u })).dimensions.find((d) => d.dimension === "cpu_cores")!;
      levels.push(`${cpu.used}/${cpu.limit}=${cpu.percentage}%:${cpu.level}`);
    }
    expect(levels).to.deep.equal(["10/20=50%:ok", "16/20=80%:notice", "18/20=90%:warning", "19/20=95%:critical"]);
    const mem = (await quota(w.adminToken).getUsage({ holderType: "user", holderId: u })).dimensions.find((d) => d.dimension === "memory_gb")!;
    expect(mem.limited).to.equal(false);
  });

  it("§10.5 example through GetUsage: 8 of 10 Gbps used is 80 %, a notice", async () => {
    const u = await newUser("quo-bw");
    await quota(w.adminToken).setQuota({ holderType: "user", holderId: u, limits: { maxBandwidthGbps: 10 } });
    await put(vm(u, "running", { bandwidth_gbps: 3 }));
    await put(vm(u, "running", { bandwidth_gbps: 5 }));
    await put(vm(u, "stopped", { bandwidth_gbps: 4 }));
    const bw = (await quota(w.adminToken).getUsage({ holderType: "user", holderId: u })).dimensions.find((d) => d.dimension === "bandwidth_gbps")!;
    expect([bw.used, bw.limit, bw.percentage, bw.level]).to.deep.equal([8, 10, 80, "notice"]);
  });

  it("reports tenant and shared-group usage summed over members", async () => {
    const [x, y] = [await newUser("quo-gx"), await newUser("quo-gy")];
    const g = (await t.client(UserGroupService, w.adminToken).createUserGroup({ tenantId: w.a.tenantId, name: "quo-g", quotaMode: "shared", quota: { maxMemoryGb: 64 } })).group!;
    await t.client(UserGroupService, w.adminToken).addGroupMembers({ groupId: g.id, userIds: [x, y] });
    await put(vm(x, "running", { memory_gb: 16 }));
    await put(vm(y, "suspended", { memory_gb: 16 }));
    const usage = await quota(w.adminToken).getUsage({ holderType: "group", holderId: g.id });
    expect(usage.quotaMode).to.equal("shared");
    expect(usage.dimensions.find((d) => d.dimension === "memory_gb")).to.include({ used: 32, limit: 64, percentage: 50, level: "ok" });
    const tenant = await quota(w.a.tenantAdminToken).getUsage({ holderType: "tenant", holderId: w.a.tenantId });
    const rows = await t.hub.db.knex("quota_consumers").where("tenant_id", w.a.tenantId).sum({ m: "occ_memory_gb" }).first();
    expect(tenant.dimensions.find((d) => d.dimension === "memory_gb")!.used).to.equal(Number(rows!.m));
  });

  it("§10.5 option 2 (default): lowering below use is allowed, marks the holder over quota, and refuses anything new", async () => {
    const u = await newUser("quo-over");
    const running = vm(u, "running", { cpu_cores: 8, ip_addresses: 1 });
    await put(running);
    const res = await quota(w.a.tenantAdminToken).setQuota({ holderType: "user", holderId: u, limits: { maxCpuCores: 4, maxIpAddresses: 5 } });
    expect(res.overQuotaDimensions).to.deep.equal(["cpu_cores"]);
    expect((await t.hub.db.knex("users").where("id", u).first()).quota_config).to.deep.equal({ max_cpu_cores: 4, max_ip_addresses: 5 });
    expect((await quota(w.adminToken).getUsage({ holderType: "user", holderId: u })).overQuota).to.equal(true);
    const audit = await t.hub.db.knex("audit_log").where({ action: "quota.set", target_id: u }).first();
    expect(audit.after.over_quota).to.deep.equal(["cpu_cores"]);
    // Even a request that needs no CPU (an IP only) is refused while over quota.
    const err = await put(vm(u, "stopped", { ip_addresses: 1 })).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ResourceExhaustedError);
    expect((err as ResourceExhaustedError).exceeded.map((e) => e.dimension)).to.deep.equal(["cpu_cores"]);
    // Releasing is always allowed; once under the limit the holder may create again.
    await put({ ...running, state: "stopped" });
    expect((await quota(w.adminToken).getUsage({ holderType: "user", holderId: u })).overQuota).to.equal(false);
    await put(vm(u, "running", { cpu_cores: 4 }));
  });

  it("§10.5 option 1 on request: refuses lowering below use and writes nothing", async () => {
    const u = await newUser("quo-opt1");
    await quota(w.adminToken).setQuota({ holderType: "user", holderId: u, limits: { maxMemoryGb: 32 } });
    await put(vm(u, "running", { memory_gb: 24 }));
    const auditBefore = await countRows(t, "audit_log");
    const err = await errorOf(quota(w.adminToken).setQuota({ holderType: "user", holderId: u, limits: { maxMemoryGb: 16 }, refuseIfOverUse: true }));
    expect(err.code).to.equal(Code.FailedPrecondition);
    expect(err.rawMessage).to.contain("memory_gb used 24 > new limit 16");
    expect((await t.hub.db.knex("users").where("id", u).first()).quota_config).to.deep.equal({ max_memory_gb: 32 });
    expect(await countRows(t, "audit_log")).to.equal(auditBefore);
  });

  it("refuses negative limits and unknown holder types naming the field, writing nothing", async () => {
    const before = (await t.hub.db.knex("tenants").where("id", w.b.tenantId).first()).quota_config;
    const neg = await errorOf(quota(w.adminToken).setQuota({ holderType: "tenant", holderId: w.b.tenantId, limits: { maxStorageGb: -10 } }));
    expect(neg.code).to.equal(Code.InvalidArgument);
    expect(neg.rawMessage).to.contain("limits.max_storage_gb");
    const negCount = await errorOf(quota(w.adminToken).setQuota({ holderType: "tenant", holderId: w.b.tenantId, limits: { maxInstances: -1 } }));
    expect(negCount.rawMessage).to.contain("limits.max_instances");
    expect((await errorOf(quota(w.adminToken).setQuota({ holderType: "galaxy", holderId: w.b.tenantId }))).rawMessage).to.contain("holder_type");
    expect((await t.hub.db.knex("tenants").where("id", w.b.tenantId).first()).quota_config).to.deep.equal(before);
  });

  it("only admin sets tenant quotas; tenant_admin sets quotas inside its tenant; other tenants are not_found", async () => {
    expect(await codeOf(quota(w.a.tenantAdminToken).setQuota({ holderType: "tenant", holderId: w.a.tenantId, limits: { maxInstances: 1000 } }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(quota(w.a.tenantAdminToken).setQuota({ holderType: "tenant", holderId: w.b.tenantId, limits: {} }))).to.equal(Code.NotFound);
    expect(await codeOf(quota(w.a.tenantAdminToken).setQuota({ holderType: "user", holderId: w.b.userId, limits: {} }))).to.equal(Code.NotFound);
    expect(await codeOf(quota(w.a.tenantAdminToken).getUsage({ holderType: "tenant", holderId: w.b.tenantId }))).to.equal(Code.NotFound);
    expect(await codeOf(quota(w.a.tenantAdminToken).getUsage({ holderType: "user", holderId: w.b.userId }))).to.equal(Code.NotFound);
    await quota(w.a.tenantAdminToken).setQuota({ holderType: "user", holderId: w.a.userId, limits: { maxInstances: 3 } });
    expect((await t.hub.db.knex("users").where("id", w.a.userId).first()).quota_config).to.deep.equal({ max_instances: 3 });
    await quota(w.adminToken).setQuota({ holderType: "tenant", holderId: w.b.tenantId, limits: { maxInstances: 50 } });
    expect((await t.hub.db.knex("tenants").where("id", w.b.tenantId).first()).quota_config).to.deep.equal({ max_instances: 50 });
  });

  it("user reads its own usage and its groups', not its tenant's or another user's, and sets nothing", async () => {
    const c = quota(w.a.userToken);
    expect((await c.getUsage({ holderType: "user", holderId: w.a.userId })).holderId).to.equal(w.a.userId);
    const groups = t.client(UserGroupService, w.adminToken);
    const mine = (await groups.createUserGroup({ tenantId: w.a.tenantId, name: "quo-mine" })).group!;
    const other = (await groups.createUserGroup({ tenantId: w.a.tenantId, name: "quo-other" })).group!;
    await groups.addGroupMembers({ groupId: mine.id, userIds: [w.a.userId] });
    expect((await c.getUsage({ holderType: "group", holderId: mine.id })).holderId).to.equal(mine.id);
    expect(await codeOf(c.getUsage({ holderType: "group", holderId: other.id }))).to.equal(Code.NotFound);
    expect(await codeOf(c.getUsage({ holderType: "user", holderId: w.a.tenantAdminId }))).to.equal(Code.NotFound);
    expect(await codeOf(c.getUsage({ holderType: "user", holderId: w.b.userId }))).to.equal(Code.NotFound);
    expect(await codeOf(c.getUsage({ holderType: "tenant", holderId: w.a.tenantId }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.getUsage({ holderType: "tenant", holderId: w.b.tenantId }))).to.equal(Code.NotFound);
    expect(await codeOf(c.setQuota({ holderType: "user", holderId: w.a.userId, limits: { maxInstances: 99 } }))).to.equal(Code.PermissionDenied);
  });

  it("operator neither reads nor sets quotas", async () => {
    expect(await codeOf(quota(w.operatorToken).getUsage({ holderType: "tenant", holderId: w.a.tenantId }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(quota(w.operatorToken).setQuota({ holderType: "tenant", holderId: w.a.tenantId, limits: {} }))).to.equal(Code.PermissionDenied);
  });
});
