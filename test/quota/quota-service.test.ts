import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { QuotaDimension, QuotaMode } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { UserGroupService } from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { newId } from "../../hub/db/ids.js";
import { ResourceExhaustedError } from "../../hub/domain/errors.js";
import { connectErrorOf, errorReasons } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { buildWorld, countRows, type World } from "../identity/identity-fixtures.js";
import {
  TENANT,
  USER,
  USER_GROUP,
  dimensionOf,
  levelName,
  newUser,
  putInstance,
  quotaApi,
} from "./quota-service-support.js";

describe("QuotaService", function () {
  let t: TestHub;
  let w: World;
  let q: ReturnType<typeof quotaApi>;
  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "quo");
    q = quotaApi(t);
  });
  after(async () => t?.stop());

  const codeOf = async (p: Promise<unknown>) => (await connectErrorOf(p)).code;

  it("reports used, limit, percentage and the 80/90/95 % levels", async () => {
    const u = await newUser(t, w, "quo-levels");
    await q.setLimits(w.adminToken, USER, u, { maxCpuCores: 20 });
    const levels: string[] = [];
    for (const cpus of [10, 6, 2, 1]) {
      await putInstance(t, w, u, "running", { cpu_cores: cpus });
      const cpu = dimensionOf((await q.usage(w.adminToken, USER, u)).dimensions, QuotaDimension.CPU_CORES);
      levels.push(`${cpu.used}/${cpu.limit}=${cpu.percentage}%:${levelName(cpu.level)}`);
    }
    expect(levels).to.deep.equal(["10/20=50%:ok", "16/20=80%:notice", "18/20=90%:warning", "19/20=95%:critical"]);
    expect(dimensionOf((await q.usage(w.adminToken, USER, u)).dimensions, QuotaDimension.MEMORY_GB).limited).to.equal(
      false,
    );
  });

  it("§10.5 example through GetQuotaUsage: 8 of 10 Gbps used is 80 %, a notice", async () => {
    const u = await newUser(t, w, "quo-bw");
    await q.setLimits(w.adminToken, USER, u, { maxBandwidthGbps: 10 });
    await putInstance(t, w, u, "running", { bandwidth_gbps: 3 });
    await putInstance(t, w, u, "running", { bandwidth_gbps: 5 });
    await putInstance(t, w, u, "stopped", { bandwidth_gbps: 4 });
    const bw = dimensionOf((await q.usage(w.adminToken, USER, u)).dimensions, QuotaDimension.BANDWIDTH_GBPS);
    expect([bw.used, bw.limit, bw.percentage, levelName(bw.level)]).to.deep.equal([8, 10, 80, "notice"]);
  });

  it("reports tenant and shared-group usage summed over members", async () => {
    const [x, y] = [await newUser(t, w, "quo-gx"), await newUser(t, w, "quo-gy")];
    const groups = t.client(UserGroupService, w.adminToken);
    const g = (
      await groups.createUserGroup({
        tenantId: w.a.tenantId,
        name: "quo-g",
        quotaMode: QuotaMode.SHARED,
        quota: { maxMemoryGb: 64 },
      })
    ).group!;
    await groups.addGroupMembers({ groupId: g.id, userIds: [x, y] });
    await putInstance(t, w, x, "running", { memory_gb: 16 });
    await putInstance(t, w, y, "suspended", { memory_gb: 16 });
    const usage = await q.usage(w.adminToken, USER_GROUP, g.id);
    expect(usage.quotaMode).to.equal(QuotaMode.SHARED);
    const mem = dimensionOf(usage.dimensions, QuotaDimension.MEMORY_GB);
    expect([mem.used, mem.limit, mem.percentage, levelName(mem.level)]).to.deep.equal([32, 64, 50, "ok"]);
    const tenant = await q.usage(w.a.tenantAdminToken, TENANT, w.a.tenantId);
    expect(tenant.quotaMode).to.equal(QuotaMode.UNSPECIFIED);
    const rows = await t.hub.db
      .knex("quota_consumers")
      .where("tenant_id", w.a.tenantId)
      .sum({ m: "occ_memory_gb" })
      .first();
    expect(dimensionOf(tenant.dimensions, QuotaDimension.MEMORY_GB).used).to.equal(Number(rows!.m));
  });

  it("§10.5 option 2 (default): lowering below use is allowed, marks the holder over quota, and refuses anything new", async () => {
    const u = await newUser(t, w, "quo-over");
    const vm = newId();
    await putInstance(t, w, u, "running", { cpu_cores: 8, ip_addresses: 1 }, vm);
    const res = await q.setLimits(w.a.tenantAdminToken, USER, u, { maxCpuCores: 4, maxIpAddresses: 5 });
    expect(res.quota!.overQuotaDimensions).to.deep.equal([QuotaDimension.CPU_CORES]);
    expect((await t.hub.db.knex("users").where("id", u).first()).quota_config).to.deep.equal({
      max_cpu_cores: 4,
      max_ip_addresses: 5,
    });
    expect((await q.usage(w.adminToken, USER, u)).overQuota).to.equal(true);
    const audit = await t.hub.db.knex("audit_log").where({ action: "quota.update", target_id: u }).first();
    expect(audit.after.over_quota).to.deep.equal(["cpu_cores"]);
    // Even a request that needs no CPU (an IP only) is refused while over quota.
    const err = await putInstance(t, w, u, "stopped", { ip_addresses: 1 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ResourceExhaustedError);
    expect((err as ResourceExhaustedError).exceeded.map((e) => e.dimension)).to.deep.equal(["cpu_cores"]);
    // Releasing is always allowed; once under the limit the holder may create again.
    await putInstance(t, w, u, "stopped", { cpu_cores: 8, ip_addresses: 1 }, vm);
    expect((await q.usage(w.adminToken, USER, u)).overQuota).to.equal(false);
    await putInstance(t, w, u, "running", { cpu_cores: 4 });
  });

  it("§10.5 option 1 on request: refuses lowering below use (QUOTA_BELOW_USAGE) and writes nothing", async () => {
    const u = await newUser(t, w, "quo-opt1");
    await q.setLimits(w.adminToken, USER, u, { maxMemoryGb: 32 });
    await putInstance(t, w, u, "running", { memory_gb: 24 });
    const auditBefore = await countRows(t, "audit_log");
    const err = await connectErrorOf(
      q.setLimits(w.adminToken, USER, u, { maxMemoryGb: 16 }, { refuseIfOverUse: true }),
    );
    expect(err.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(err)).to.deep.equal(["QUOTA_BELOW_USAGE"]);
    expect(err.rawMessage).to.contain("memory_gb used 24 > new limit 16");
    expect((await t.hub.db.knex("users").where("id", u).first()).quota_config).to.deep.equal({ max_memory_gb: 32 });
    expect(await countRows(t, "audit_log")).to.equal(auditBefore);
  });

  it("only admin sets tenant quotas; tenant_admin sets quotas inside its tenant; other tenants are not_found", async () => {
    expect(await codeOf(q.setLimits(w.a.tenantAdminToken, TENANT, w.a.tenantId, { maxInstances: 1000 }))).to.equal(
      Code.PermissionDenied,
    );
    expect(await codeOf(q.setLimits(w.a.tenantAdminToken, TENANT, w.b.tenantId, {}))).to.equal(Code.NotFound);
    expect(await codeOf(q.setLimits(w.a.tenantAdminToken, USER, w.b.userId, {}))).to.equal(Code.NotFound);
    expect(await codeOf(q.usage(w.a.tenantAdminToken, TENANT, w.b.tenantId))).to.equal(Code.NotFound);
    expect(await codeOf(q.usage(w.a.tenantAdminToken, USER, w.b.userId))).to.equal(Code.NotFound);
    expect(await codeOf(q.client(w.a.tenantAdminToken).getQuota({ holderType: USER, holderId: w.b.userId }))).to.equal(
      Code.NotFound,
    );
    await q.setLimits(w.a.tenantAdminToken, USER, w.a.userId, { maxInstances: 3 });
    expect((await t.hub.db.knex("users").where("id", w.a.userId).first()).quota_config).to.deep.equal({
      max_instances: 3,
    });
    await q.setLimits(w.adminToken, TENANT, w.b.tenantId, { maxInstances: 50 });
    expect((await t.hub.db.knex("tenants").where("id", w.b.tenantId).first()).quota_config).to.deep.equal({
      max_instances: 50,
    });
  });

  it("user reads its own quota and usage and its groups', not its tenant's or another user's, and sets nothing", async () => {
    const c = q.client(w.a.userToken);
    expect((await c.getQuotaUsage({ holderType: USER, holderId: w.a.userId })).holderId).to.equal(w.a.userId);
    expect((await c.getQuota({ holderType: USER, holderId: w.a.userId })).quota!.holderId).to.equal(w.a.userId);
    const groups = t.client(UserGroupService, w.adminToken);
    const mine = (await groups.createUserGroup({ tenantId: w.a.tenantId, name: "quo-mine" })).group!;
    const other = (await groups.createUserGroup({ tenantId: w.a.tenantId, name: "quo-other" })).group!;
    await groups.addGroupMembers({ groupId: mine.id, userIds: [w.a.userId] });
    expect((await c.getQuotaUsage({ holderType: USER_GROUP, holderId: mine.id })).holderId).to.equal(mine.id);
    expect(await codeOf(c.getQuotaUsage({ holderType: USER_GROUP, holderId: other.id }))).to.equal(Code.NotFound);
    expect(await codeOf(c.getQuotaUsage({ holderType: USER, holderId: w.a.tenantAdminId }))).to.equal(Code.NotFound);
    expect(await codeOf(c.getQuotaUsage({ holderType: USER, holderId: w.b.userId }))).to.equal(Code.NotFound);
    expect(await codeOf(c.getQuotaUsage({ holderType: TENANT, holderId: w.a.tenantId }))).to.equal(
      Code.PermissionDenied,
    );
    expect(await codeOf(c.getQuotaUsage({ holderType: TENANT, holderId: w.b.tenantId }))).to.equal(Code.NotFound);
    expect(await codeOf(q.setLimits(w.a.userToken, USER, w.a.userId, { maxInstances: 99 }))).to.equal(
      Code.PermissionDenied,
    );
  });

  it("operator neither reads nor sets quotas", async () => {
    expect(await codeOf(q.usage(w.operatorToken, TENANT, w.a.tenantId))).to.equal(Code.PermissionDenied);
    expect(await codeOf(q.client(w.operatorToken).getQuota({ holderType: TENANT, holderId: w.a.tenantId }))).to.equal(
      Code.PermissionDenied,
    );
    expect(await codeOf(q.setLimits(w.operatorToken, TENANT, w.a.tenantId, {}))).to.equal(Code.PermissionDenied);
  });
});
