import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { DiskStatus } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { connectErrorOf, errorReasons } from "../support/api-conventions.js";
import { CatalogPeople } from "../catalog/catalog-fixtures.js";
import { DiskWorld } from "./disk-world.js";

describe("DiskService and quota max_private_data_disk_gb (000 §10)", function () {
  this.timeout(120_000);
  const w = new DiskWorld();
  before(() => w.start());
  after(() => w.stop());
  afterEach(async () => {
    for (const u of [w.alice, w.bob]) await w.knex("users").where({ id: u.userId }).update({ quota_config: "{}" });
    await w.knex("tenants").where({ id: w.tenantA.id }).update({ quota_config: "{}" });
  });

  it("charges a disk's size at create and refuses a disk over the user's limit (resource_exhausted, nothing written)", async () => {
    await w.setQuota("user", w.alice.userId, 50);
    const used = await w.quotaUsedGb(w.alice.userId);
    const { disk } = await w.create({ name: "q-fits", sizeGb: 50 - used });
    expect(await w.quotaUsedGb(w.alice.userId)).to.equal(50);
    const rows = await w.knex("private_data_disks").count({ n: "*" }).first();
    const err = await connectErrorOf(w.create({ name: "q-over", sizeGb: 1 }));
    expect(err.code).to.equal(Code.ResourceExhausted);
    expect(errorReasons(err)).to.include("QUOTA_EXCEEDED");
    expect(err.rawMessage).to.match(/user .* private_data_disk_gb/);
    expect(await w.knex("private_data_disks").count({ n: "*" }).first()).to.deep.equal(rows);
    await w.available(disk!.id);
  });

  it("checks the tenant's limit and a shared group's limit too", async () => {
    await w.setQuota("tenant", w.tenantA.id, 0.5);
    let err = await connectErrorOf(w.create({ name: "t-over", sizeGb: 1 }, w.bob));
    expect(err.code).to.equal(Code.ResourceExhausted);
    expect(err.rawMessage).to.match(/tenant .* private_data_disk_gb/);
    await w.knex("tenants").where({ id: w.tenantA.id }).update({ quota_config: "{}" });
    const group = await new CatalogPeople(w.knex).group(w.tenantA.id, "class-1", [w.bob]);
    await w
      .knex("user_groups")
      .where({ id: group })
      .update({ quota_mode: "shared", quota_config: JSON.stringify({ max_private_data_disk_gb: 0.5 }) });
    err = await connectErrorOf(w.create({ name: "g-over", sizeGb: 1 }, w.bob));
    expect(err.code).to.equal(Code.ResourceExhausted);
    expect(err.rawMessage).to.match(/group .* private_data_disk_gb/);
    await w.knex("user_group_members").where({ group_id: group }).delete();
  });

  it("re-checks quota on resize and refuses a growth over the limit, changing nothing", async () => {
    const { disk } = await w.create({ name: "q-grow", sizeGb: 10 }, w.bob);
    await w.available(disk!.id);
    await w.setQuota("user", w.bob.userId, (await w.quotaUsedGb(w.bob.userId)) + 5);
    const err = await connectErrorOf(w.as(w.bob).resizeDisk({ id: disk!.id, sizeGb: 16 }));
    expect(err.code).to.equal(Code.ResourceExhausted);
    expect((await w.as(w.bob).getDisk({ id: disk!.id })).disk!.sizeGb).to.equal(10);
    const ok = await w.as(w.bob).resizeDisk({ id: disk!.id, sizeGb: 15 });
    expect(ok.disk!.sizeGb).to.equal(15);
    await w.converge(disk!.id, (d) => d.provisionedSizeGb === 15);
  });

  it("returns the quota at once on delete, before the gateway has removed the image", async () => {
    const before = await w.quotaUsedGb(w.bob.userId);
    const { disk } = await w.create({ name: "q-return", sizeGb: 7 }, w.bob);
    await w.available(disk!.id);
    expect(await w.quotaUsedGb(w.bob.userId)).to.equal(before + 7);
    const r = await w.as(w.bob).deleteDisk({ id: disk!.id });
    expect(r.disk!.status).to.equal(DiskStatus.DELETING);
    expect(await w.quotaUsedGb(w.bob.userId)).to.equal(before);
    expect(w.gateway.image("private-data-disks", `disk-${disk!.id}`), "image still there").to.not.equal(undefined);
  });

  it("concurrent creates never exceed the limit: exactly the disks that fit are created", async () => {
    const used = await w.quotaUsedGb(w.alice.userId);
    await w.setQuota("user", w.alice.userId, used + 30);
    const attempts = 12;
    const results = await Promise.allSettled(
      Array.from({ length: attempts }, (_, i) => w.create({ name: `race-${i}`, sizeGb: 5 })),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const refused = results
      .filter((r): r is PromiseRejectedResult => r.status === "rejected")
      .map((r) => (r.reason as { code: Code }).code);
    expect(ok).to.equal(6);
    // Refusals are quota refusals (or, under PostgreSQL's lock waits, a retryable conflict), never more disks.
    expect(refused.every((c) => c === Code.ResourceExhausted || c === Code.Aborted)).to.equal(true);
    expect(await w.quotaUsedGb(w.alice.userId)).to.equal(used + 30);
    const live = await w
      .knex("private_data_disks")
      .where({ user_id: w.alice.userId })
      .whereNull("deleted_at")
      .sum({ gb: "size_gb" })
      .first();
    expect(Number(live!.gb)).to.equal(used + 30);
  });
});
