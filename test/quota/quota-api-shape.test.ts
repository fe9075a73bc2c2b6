import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { QuotaHolderType } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { newId } from "../../hub/db/ids.js";
import { connectErrorOf, errorReasons, violatedFields } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { buildWorld, countRows, type World } from "../identity/identity-fixtures.js";
import { TENANT, USER, newUser, quotaApi } from "./quota-service-support.js";

describe("QuotaService: the Quota resource (update_mask, etag, errors)", function () {
  this.timeout(60_000);
  let t: TestHub;
  let w: World;
  let q: ReturnType<typeof quotaApi>;
  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "qas");
    q = quotaApi(t);
  });
  after(async () => t?.stop());

  const stored = async (u: string) =>
    (await t.hub.db.knex("users").where("id", u).first()).quota_config as Record<string, number>;

  it("GetQuota returns the limits and an etag that changes exactly when they do", async () => {
    const u = await newUser(t, w, "qas-get");
    const empty = (await q.client(w.adminToken).getQuota({ holderType: USER, holderId: u })).quota!;
    expect([empty.holderType, empty.holderId, empty.limits?.maxCpuCores]).to.deep.equal([USER, u, undefined]);
    expect(empty.etag).to.not.equal("");
    const updated = (await q.setLimits(w.adminToken, USER, u, { maxCpuCores: 8 })).quota!;
    expect(updated.limits!.maxCpuCores).to.equal(8);
    expect(updated.etag).to.not.equal(empty.etag);
    const again = (await q.client(w.adminToken).getQuota({ holderType: USER, holderId: u })).quota!;
    expect(again.etag).to.equal(updated.etag);
  });

  it("update_mask limits.max_<dimension> changes that limit only; unset clears it", async () => {
    const u = await newUser(t, w, "qas-mask");
    await q.setLimits(w.adminToken, USER, u, { maxCpuCores: 8, maxMemoryGb: 16 });
    const c = q.client(w.adminToken);
    await c.updateQuota({
      quota: { holderType: USER, holderId: u, limits: { maxCpuCores: 4, maxMemoryGb: 999 } },
      updateMask: { paths: ["limits.max_cpu_cores"] },
    });
    expect(await stored(u)).to.deep.equal({ max_cpu_cores: 4, max_memory_gb: 16 });
    await c.updateQuota({
      quota: { holderType: USER, holderId: u, limits: {} },
      updateMask: { paths: ["limits.max_memory_gb"] },
    });
    expect(await stored(u)).to.deep.equal({ max_cpu_cores: 4 });
  });

  it("refuses a stale etag with aborted ETAG_MISMATCH and writes nothing", async () => {
    const u = await newUser(t, w, "qas-etag");
    const read = (await q.setLimits(w.adminToken, USER, u, { maxInstances: 5 })).quota!;
    await q.setLimits(w.adminToken, USER, u, { maxInstances: 6 }, { etag: read.etag });
    const rowBefore = await t.hub.db.knex("users").where("id", u).first();
    const auditBefore = await countRows(t, "audit_log");
    const err = await connectErrorOf(q.setLimits(w.adminToken, USER, u, { maxInstances: 7 }, { etag: read.etag }));
    expect(err.code).to.equal(Code.Aborted);
    expect(errorReasons(err)).to.deep.equal(["ETAG_MISMATCH"]);
    expect(await t.hub.db.knex("users").where("id", u).first()).to.deep.equal(rowBefore);
    expect(await countRows(t, "audit_log")).to.equal(auditBefore);
  });

  it("names the bad field: negative limits, holder types, update masks, a missing quota", async () => {
    const before = (await t.hub.db.knex("tenants").where("id", w.b.tenantId).first()).quota_config;
    const c = q.client(w.adminToken);
    const fields = async (p: Promise<unknown>) => {
      const err = await connectErrorOf(p);
      expect(err.code).to.equal(Code.InvalidArgument);
      return violatedFields(err);
    };
    expect(await fields(q.setLimits(w.adminToken, TENANT, w.b.tenantId, { maxStorageGb: -10 }))).to.deep.equal([
      "quota.limits.max_storage_gb",
    ]);
    expect(await fields(q.setLimits(w.adminToken, TENANT, w.b.tenantId, { maxInstances: -1 }))).to.deep.equal([
      "quota.limits.max_instances",
    ]);
    expect(await fields(q.setLimits(w.adminToken, 99 as QuotaHolderType, w.b.tenantId, {}))).to.deep.equal([
      "quota.holder_type",
    ]);
    expect(await fields(q.setLimits(w.adminToken, QuotaHolderType.UNSPECIFIED, w.b.tenantId, {}))).to.deep.equal([
      "quota.holder_type",
    ]);
    expect(await fields(q.setLimits(w.adminToken, QuotaHolderType.INSTANCE_SET, newId(), {}))).to.deep.equal([
      "quota.holder_type",
    ]);
    expect(
      await fields(c.getQuotaUsage({ holderType: QuotaHolderType.UNSPECIFIED, holderId: w.b.tenantId })),
    ).to.deep.equal(["holder_type"]);
    const quota = { holderType: TENANT, holderId: w.b.tenantId, limits: { maxInstances: 1 } };
    expect(await fields(c.updateQuota({ quota }))).to.deep.equal(["update_mask"]);
    expect(await fields(c.updateQuota({ quota, updateMask: { paths: ["holder_id"] } }))).to.deep.equal(["update_mask"]);
    expect(await fields(c.updateQuota({}))).to.deep.equal(["quota"]);
    expect((await t.hub.db.knex("tenants").where("id", w.b.tenantId).first()).quota_config).to.deep.equal(before);
  });

  it("a malformed holder id is invalid_argument naming it; a well-formed unknown one is not_found", async () => {
    const c = q.client(w.adminToken);
    for (const [call, field] of [
      [c.getQuota({ holderType: USER, holderId: "not-a-uuid" }), "holder_id"],
      [c.getQuotaUsage({ holderType: TENANT, holderId: "42" }), "holder_id"],
      [q.setLimits(w.adminToken, USER, "x'; drop table users", {}), "quota.holder_id"],
    ] as const) {
      const err = await connectErrorOf(call);
      expect(err.code).to.equal(Code.InvalidArgument);
      expect(violatedFields(err)).to.deep.equal([field]);
    }
    expect((await connectErrorOf(c.getQuota({ holderType: USER, holderId: newId() }))).code).to.equal(Code.NotFound);
    expect(
      (await connectErrorOf(c.getQuotaUsage({ holderType: QuotaHolderType.USER_GROUP, holderId: newId() }))).code,
    ).to.equal(Code.NotFound);
    expect((await connectErrorOf(q.setLimits(w.adminToken, TENANT, newId(), {}))).code).to.equal(Code.NotFound);
  });
});
