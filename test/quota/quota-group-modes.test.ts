import { expect } from "chai";
import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import { ResourceExhaustedError } from "../../hub/domain/errors.js";
import { reserve, type QuotaRequest } from "../../hub/quota/quota-ledger.js";
import { groupUsage } from "../../hub/quota/quota-usage.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { insertGroup, insertTenant, insertUser } from "./quota-fixtures.js";

function cpus(tenantId: string, userId: string, n: number): QuotaRequest {
  return {
    consumer: { type: "instance", id: newId() },
    tenantId,
    userId,
    state: "running",
    resources: { cpu_cores: n },
  };
}

async function tryReserve(knex: Knex, req: QuotaRequest): Promise<ResourceExhaustedError | undefined> {
  try {
    await knex.transaction((trx) => reserve(trx, req));
    return undefined;
  } catch (err) {
    if (err instanceof ResourceExhaustedError) return err;
    throw err;
  }
}

describe("group quota modes (000 §10.4.2)", function () {
  let t: TestDatabase;
  let knex: Knex;
  before(async () => {
    t = await createTestDatabase();
    knex = t.db.knex;
  });
  after(async () => t?.drop());

  it("independent: the group's limit is not checked, only each user's own", async () => {
    const tenant = await insertTenant(knex);
    const [a, b] = [await insertUser(knex, tenant, { cpu_cores: 8 }), await insertUser(knex, tenant, { cpu_cores: 8 })];
    await insertGroup(knex, tenant, "independent", { cpu_cores: 4 }, [a, b]);
    expect(await tryReserve(knex, cpus(tenant, a, 8))).to.equal(undefined);
    expect(await tryReserve(knex, cpus(tenant, b, 8))).to.equal(undefined);
    const err = await tryReserve(knex, cpus(tenant, b, 1));
    expect(err?.exceeded).to.deep.equal([
      { dimension: "cpu_cores", used: 8, requested: 1, limit: 8, holderType: "user", holderId: b },
    ]);
  });

  it("shared: members compete for the group's quota, and each user's own limit still applies after it", async () => {
    const tenant = await insertTenant(knex);
    const [a, b] = [await insertUser(knex, tenant, { cpu_cores: 8 }), await insertUser(knex, tenant, { cpu_cores: 3 })];
    const g = await insertGroup(knex, tenant, "shared", { cpu_cores: 10 }, [a, b]);
    expect(await tryReserve(knex, cpus(tenant, a, 7))).to.equal(undefined);
    const err = await tryReserve(knex, cpus(tenant, b, 4));
    // Group first (7 + 4 > 10), then the user's own limit (0 + 4 > 3).
    expect(err?.exceeded).to.deep.equal([
      { dimension: "cpu_cores", used: 7, requested: 4, limit: 10, holderType: "group", holderId: g },
      { dimension: "cpu_cores", used: 0, requested: 4, limit: 3, holderType: "user", holderId: b },
    ]);
    expect(await tryReserve(knex, cpus(tenant, b, 3))).to.equal(undefined);
    expect((await groupUsage(knex, g, "shared")).cpu_cores).to.equal(10);
  });

  it("shared: a parent group's quota covers members of its subgroups", async () => {
    const tenant = await insertTenant(knex);
    const [a, b] = [await insertUser(knex, tenant), await insertUser(knex, tenant)];
    const parent = await insertGroup(knex, tenant, "shared", { memory_gb: 16 });
    await insertGroup(knex, tenant, "independent", {}, [a], parent);
    await insertGroup(knex, tenant, "independent", {}, [b], parent);
    expect(await tryReserve(knex, { ...cpus(tenant, a, 1), resources: { memory_gb: 12 } })).to.equal(undefined);
    const err = await tryReserve(knex, { ...cpus(tenant, b, 1), resources: { memory_gb: 8 } });
    expect(err?.exceeded).to.deep.equal([
      { dimension: "memory_gb", used: 12, requested: 8, limit: 16, holderType: "group", holderId: parent },
    ]);
  });

  it("hybrid: a user spends its own quota first, then borrows from the group until the group runs out", async () => {
    const tenant = await insertTenant(knex);
    const [a, b] = [await insertUser(knex, tenant, { cpu_cores: 4 }), await insertUser(knex, tenant, { cpu_cores: 4 })];
    const g = await insertGroup(knex, tenant, "hybrid", { cpu_cores: 6 }, [a, b]);
    // a: 4 own + 4 borrowed.
    expect(await tryReserve(knex, cpus(tenant, a, 4))).to.equal(undefined);
    expect((await groupUsage(knex, g, "hybrid")).cpu_cores).to.equal(0);
    expect(await tryReserve(knex, cpus(tenant, a, 4))).to.equal(undefined);
    expect((await groupUsage(knex, g, "hybrid")).cpu_cores).to.equal(4);
    // b: its own 4 need no borrowing even though the group has only 2 left.
    expect(await tryReserve(knex, cpus(tenant, b, 4))).to.equal(undefined);
    // b borrowing 3 more exceeds the group's 6 (4 already lent to a).
    const err = await tryReserve(knex, cpus(tenant, b, 3));
    expect(err?.exceeded).to.deep.equal([
      { dimension: "cpu_cores", used: 4, requested: 3, limit: 6, holderType: "group", holderId: g },
    ]);
    expect(await tryReserve(knex, cpus(tenant, b, 2))).to.equal(undefined);
    expect((await groupUsage(knex, g, "hybrid")).cpu_cores).to.equal(6);
  });

  it("the tenant limit is checked before any group or user limit", async () => {
    const tenant = await insertTenant(knex, { cpu_cores: 5 });
    const a = await insertUser(knex, tenant, { cpu_cores: 100 });
    await insertGroup(knex, tenant, "shared", { cpu_cores: 100 }, [a]);
    const err = await tryReserve(knex, cpus(tenant, a, 6));
    expect(err?.exceeded).to.deep.equal([
      { dimension: "cpu_cores", used: 0, requested: 6, limit: 5, holderType: "tenant", holderId: tenant },
    ]);
  });
});
