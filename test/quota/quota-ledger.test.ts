import { expect } from "chai";
import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import { FailedPreconditionError, ResourceExhaustedError } from "../../hub/domain/errors.js";
import { checkQuota, reserve, release, type QuotaRequest } from "../../hub/quota/quota-ledger.js";
import { ledgerUsage } from "../../hub/quota/quota-usage.js";
import { INSTANCE_QUOTA_STATES } from "../../hub/quota/occupancy.js";
import type { Resources } from "../../hub/quota/quota-dimensions.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { insertTenant, insertUser } from "./quota-fixtures.js";

function instance(
  tenantId: string,
  userId: string,
  state: string,
  resources: Partial<Resources>,
  id = newId(),
): QuotaRequest {
  return { consumer: { type: "instance", id }, tenantId, userId, state, resources: { ip_addresses: 1, ...resources } };
}
function disk(tenantId: string, userId: string, sizeGb: number, id = newId()): QuotaRequest {
  return {
    consumer: { type: "private_data_disk", id },
    tenantId,
    userId,
    state: "available",
    resources: { private_data_disk_gb: sizeGb },
  };
}

async function refusal(knex: Knex, req: QuotaRequest): Promise<ResourceExhaustedError> {
  try {
    await knex.transaction((trx) => reserve(trx, req));
  } catch (err) {
    if (err instanceof ResourceExhaustedError) {
      expect(err.reason).to.equal("QUOTA_EXCEEDED");
      return err;
    }
    throw err;
  }
  throw new Error("expected a quota refusal");
}

describe("quota ledger", function () {
  let t: TestDatabase;
  let knex: Knex;
  before(async () => {
    t = await createTestDatabase();
    knex = t.db.knex;
  });
  after(async () => t?.drop());

  it("stores what each state of §10.4.1 occupies, moving one instance through every state", async () => {
    const tenant = await insertTenant(knex);
    const user = await insertUser(knex, tenant);
    const id = newId();
    const size = { cpu_cores: 4, memory_gb: 8, storage_gb: 100, bandwidth_gbps: 2, ip_addresses: 1 };
    const seen: Record<string, Resources> = {};
    for (const state of INSTANCE_QUOTA_STATES) {
      await knex.transaction((trx) => reserve(trx, instance(tenant, user, state, size, id)));
      seen[state] = await ledgerUsage(knex, "user", user);
    }
    expect(seen.running).to.include({
      instances: 1,
      cpu_cores: 4,
      memory_gb: 8,
      storage_gb: 100,
      bandwidth_gbps: 2,
      ip_addresses: 1,
    });
    expect(seen.suspended).to.include({
      cpu_cores: 4,
      memory_gb: 8,
      storage_gb: 100,
      bandwidth_gbps: 0,
      ip_addresses: 1,
    });
    expect(seen.stopping).to.include({ cpu_cores: 4, bandwidth_gbps: 0, ip_addresses: 1 });
    expect(seen.stopped).to.include({
      instances: 1,
      cpu_cores: 0,
      memory_gb: 0,
      storage_gb: 100,
      bandwidth_gbps: 0,
      ip_addresses: 1,
    });
    expect(seen.terminating).to.include({
      instances: 0,
      cpu_cores: 0,
      memory_gb: 0,
      storage_gb: 100,
      bandwidth_gbps: 0,
      ip_addresses: 0,
    });
    expect(seen.deleted).to.deep.include({ instances: 0, storage_gb: 0 });
    expect(await knex("quota_consumers").where("consumer_id", id).first()).to.equal(undefined);
  });

  // Limits that fit exactly what a stopped instance holds: entering each state of the table is
  // allowed only when that state's row holds no more than that.
  const ENTER: [string, string[]][] = [
    ["creating", ["cpu_cores", "memory_gb", "bandwidth_gbps"]],
    ["initializing", ["cpu_cores", "memory_gb", "bandwidth_gbps"]],
    ["running", ["cpu_cores", "memory_gb", "bandwidth_gbps"]],
    ["suspended", ["cpu_cores", "memory_gb"]],
    ["stopping", ["cpu_cores", "memory_gb"]],
    ["stopped", []],
    ["terminating", []],
    ["deleted", []],
  ];
  for (const [state, refused] of ENTER) {
    it(`enforces the ${state} row: ${refused.length ? `refuses ${refused.join(", ")}` : "fits storage and IP only"}`, async () => {
      const tenant = await insertTenant(knex);
      const user = await insertUser(knex, tenant, {
        instances: 1,
        cpu_cores: 0,
        memory_gb: 0,
        bandwidth_gbps: 0,
        storage_gb: 100,
        ip_addresses: 1,
      });
      const req = instance(tenant, user, state, {
        cpu_cores: 2,
        memory_gb: 4,
        bandwidth_gbps: 1,
        storage_gb: 100,
        ip_addresses: 1,
      });
      const err = await knex
        .transaction((trx) => reserve(trx, req))
        .then(
          () => undefined,
          (e: unknown) => e as ResourceExhaustedError,
        );
      expect(err?.exceeded.map((e) => e.dimension) ?? []).to.deep.equal(refused);
      const rows = await knex("quota_consumers").where("consumer_id", req.consumer.id).count({ n: "*" }).first();
      expect(Number(rows!.n)).to.equal(refused.length === 0 && state !== "deleted" ? 1 : 0);
    });
  }

  it("checkQuota decides without writing", async () => {
    const tenant = await insertTenant(knex);
    const user = await insertUser(knex, tenant, { cpu_cores: 2 });
    const verdict = await knex.transaction((trx) =>
      checkQuota(trx, instance(tenant, user, "running", { cpu_cores: 3 })),
    );
    expect(verdict.allowed).to.equal(false);
    expect(verdict.exceeded[0]).to.include({ dimension: "cpu_cores", used: 0, requested: 3, limit: 2 });
    const ok = await knex.transaction((trx) => checkQuota(trx, instance(tenant, user, "running", { cpu_cores: 2 })));
    expect(ok.allowed).to.equal(true);
    expect(await knex("quota_consumers").where("tenant_id", tenant).count({ n: "*" }).first()).to.deep.equal({ n: 0 });
  });

  it("§3.0.4: counts system disks 300/500 GB and data disks 1 800/2 000 GB, refusing past either limit", async () => {
    const tenant = await insertTenant(knex);
    const user = await insertUser(knex, tenant, { storage_gb: 500, private_data_disk_gb: 2000 });
    await knex.transaction(async (trx) => {
      await reserve(trx, instance(tenant, user, "running", { storage_gb: 100 }));
      await reserve(trx, instance(tenant, user, "stopped", { storage_gb: 200 }));
      const third = instance(tenant, user, "running", { storage_gb: 150 });
      await reserve(trx, third);
      await reserve(trx, { ...third, state: "deleted" });
      for (const size of [500, 1000, 300]) await reserve(trx, disk(tenant, user, size));
    });
    const used = await ledgerUsage(knex, "user", user);
    expect(used.storage_gb).to.equal(300);
    expect(used.private_data_disk_gb).to.equal(1800);

    const sys = await refusal(knex, instance(tenant, user, "creating", { storage_gb: 201 }));
    expect(sys.exceeded).to.deep.equal([
      { dimension: "storage_gb", used: 300, requested: 201, limit: 500, holderType: "user", holderId: user },
    ]);
    const data = await refusal(knex, disk(tenant, user, 201));
    expect(data.exceeded).to.deep.equal([
      {
        dimension: "private_data_disk_gb",
        used: 1800,
        requested: 201,
        limit: 2000,
        holderType: "user",
        holderId: user,
      },
    ]);
    await knex.transaction((trx) => reserve(trx, disk(tenant, user, 200)));
    expect((await ledgerUsage(knex, "user", user)).private_data_disk_gb).to.equal(2000);
  });

  it("§10.5: with 8/10 Gbps used, creating D with 3 Gbps and starting stopped C with 4 Gbps are both refused", async () => {
    const tenant = await insertTenant(knex);
    const user = await insertUser(knex, tenant, { bandwidth_gbps: 10 });
    const c = instance(tenant, user, "stopped", { bandwidth_gbps: 4 });
    await knex.transaction(async (trx) => {
      await reserve(trx, instance(tenant, user, "running", { bandwidth_gbps: 3 }));
      await reserve(trx, instance(tenant, user, "running", { bandwidth_gbps: 5 }));
      await reserve(trx, c);
    });
    expect((await ledgerUsage(knex, "user", user)).bandwidth_gbps).to.equal(8);
    const d = await refusal(knex, instance(tenant, user, "creating", { bandwidth_gbps: 3 }));
    expect(d.exceeded).to.deep.equal([
      { dimension: "bandwidth_gbps", used: 8, requested: 3, limit: 10, holderType: "user", holderId: user },
    ]);
    const startC = await refusal(knex, { ...c, state: "running" });
    expect(startC.exceeded).to.deep.equal([
      { dimension: "bandwidth_gbps", used: 8, requested: 4, limit: 10, holderType: "user", holderId: user },
    ]);
    expect((await knex("quota_consumers").where("consumer_id", c.consumer.id).first()).state).to.equal("stopped");
    // 2 Gbps fit exactly.
    await knex.transaction((trx) => reserve(trx, instance(tenant, user, "creating", { bandwidth_gbps: 2 })));
    expect((await ledgerUsage(knex, "user", user)).bandwidth_gbps).to.equal(10);
  });

  it("lists every exceeded dimension at every level, tenant first", async () => {
    const tenant = await insertTenant(knex, { cpu_cores: 4, memory_gb: 100 });
    const user = await insertUser(knex, tenant, { cpu_cores: 2, memory_gb: 4, ip_addresses: 0 });
    const err = await refusal(knex, instance(tenant, user, "creating", { cpu_cores: 8, memory_gb: 8 }));
    expect(err.exceeded.map((e) => `${e.holderType}.${e.dimension}`)).to.deep.equal([
      "tenant.cpu_cores",
      "user.cpu_cores",
      "user.memory_gb",
      "user.ip_addresses",
    ]);
    expect(err.message).to.contain("tenant").and.contain("cpu_cores used 0 + requested 8 > limit 4");
    expect(await knex("quota_consumers").where("tenant_id", tenant).count({ n: "*" }).first()).to.deep.equal({ n: 0 });
  });

  it("charges every user of a tenant to the tenant quota", async () => {
    const tenant = await insertTenant(knex, { instances: 2 });
    const [a, b, c] = [await insertUser(knex, tenant), await insertUser(knex, tenant), await insertUser(knex, tenant)];
    await knex.transaction((trx) => reserve(trx, instance(tenant, a, "running", {})));
    await knex.transaction((trx) => reserve(trx, instance(tenant, b, "stopped", {})));
    const err = await refusal(knex, instance(tenant, c, "creating", {}));
    expect(err.exceeded).to.deep.equal([
      { dimension: "instances", used: 2, requested: 1, limit: 2, holderType: "tenant", holderId: tenant },
    ]);
  });

  it("checks an instance set's quota after the user's", async () => {
    const tenant = await insertTenant(knex);
    const user = await insertUser(knex, tenant);
    const set = newId();
    await knex("instance_set_quotas").insert({
      instance_set_id: set,
      tenant_id: tenant,
      quota_config: JSON.stringify({ max_cpu_cores: 6 }),
    });
    await knex.transaction((trx) =>
      reserve(trx, { ...instance(tenant, user, "running", { cpu_cores: 4 }), instanceSetId: set }),
    );
    await knex.transaction((trx) => reserve(trx, instance(tenant, user, "running", { cpu_cores: 4 }))); // outside the set
    const err = await refusal(knex, { ...instance(tenant, user, "creating", { cpu_cores: 4 }), instanceSetId: set });
    expect(err.exceeded).to.deep.equal([
      { dimension: "cpu_cores", used: 4, requested: 4, limit: 6, holderType: "instance_set", holderId: set },
    ]);
  });

  it("a suspended tenant may release but not take more", async () => {
    const tenant = await insertTenant(knex);
    const user = await insertUser(knex, tenant);
    const inst = instance(tenant, user, "running", { cpu_cores: 2 });
    await knex.transaction((trx) => reserve(trx, inst));
    await knex("tenants").where("id", tenant).update({ status: "suspended" });
    const err = await knex
      .transaction((trx) => reserve(trx, instance(tenant, user, "creating", { cpu_cores: 1 })))
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect((err as FailedPreconditionError).reason).to.equal("TENANT_NOT_ACTIVE");
    expect((err as FailedPreconditionError).metadata).to.deep.equal({ tenant_id: tenant, status: "suspended" });
    await knex.transaction((trx) => reserve(trx, { ...inst, state: "stopped" }));
    expect((await ledgerUsage(knex, "tenant", tenant)).cpu_cores).to.equal(0);
    expect((await ledgerUsage(knex, "tenant", tenant)).instances).to.equal(1);
  });

  it("always allows shrinking, and release frees everything", async () => {
    const tenant = await insertTenant(knex);
    const user = await insertUser(knex, tenant, { cpu_cores: 4 });
    const inst = instance(tenant, user, "running", { cpu_cores: 4 });
    await knex.transaction((trx) => reserve(trx, inst));
    await knex("users")
      .where("id", user)
      .update({ quota_config: JSON.stringify({ max_cpu_cores: 1 }) });
    await knex.transaction((trx) => reserve(trx, { ...inst, state: "stopping" }));
    await knex.transaction((trx) => reserve(trx, { ...inst, state: "stopped" }));
    expect((await ledgerUsage(knex, "user", user)).cpu_cores).to.equal(0);
    await knex.transaction((trx) => release(trx, inst.consumer));
    expect((await ledgerUsage(knex, "user", user)).ip_addresses).to.equal(0);
  });
});
