import { expect } from "chai";
import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import { ResourceExhaustedError } from "../../hub/domain/errors.js";
import { reserve } from "../../hub/quota/quota-ledger.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { insertGroup, insertTenant, insertUser } from "./quota-fixtures.js";

describe("quota reservations under concurrency", function () {
  let t: TestDatabase;
  let knex: Knex;
  before(async () => {
    t = await createTestDatabase();
    knex = t.db.knex;
  });
  after(async () => t?.drop());

  async function race(tenantId: string, users: string[], n: number): Promise<{ ok: number; refused: number }> {
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        knex.transaction((trx) =>
          reserve(trx, {
            consumer: { type: "instance", id: newId() },
            tenantId,
            userId: users[i % users.length]!,
            state: "creating",
            resources: { cpu_cores: 1 },
          }),
        ),
      ),
    );
    const other = results.filter((r) => r.status === "rejected" && !(r.reason instanceof ResourceExhaustedError));
    if (other.length > 0) throw (other[0] as PromiseRejectedResult).reason;
    return {
      ok: results.filter((r) => r.status === "fulfilled").length,
      refused: results.filter((r) => r.status === "rejected").length,
    };
  }

  it("100 parallel reservations against a user limit of 10 commit exactly 10", async () => {
    const tenant = await insertTenant(knex);
    const user = await insertUser(knex, tenant, { instances: 10 });
    const { ok, refused } = await race(tenant, [user], 100);
    expect(ok).to.equal(10);
    expect(refused).to.equal(90);
    const rows = await knex("quota_consumers").where("user_id", user).count({ n: "*" }).first();
    expect(Number(rows!.n)).to.equal(10);
  });

  it("100 parallel reservations by 5 users of a shared group limited to 10 commit exactly 10", async () => {
    const tenant = await insertTenant(knex);
    const users = await Promise.all([1, 2, 3, 4, 5].map(() => insertUser(knex, tenant)));
    await insertGroup(knex, tenant, "shared", { instances: 10 }, users);
    const { ok } = await race(tenant, users, 100);
    expect(ok).to.equal(10);
    const rows = await knex("quota_consumers").where("tenant_id", tenant).sum({ n: "occ_instances" }).first();
    expect(Number(rows!.n)).to.equal(10);
  });
});
