import { expect } from "chai";
import { selectedBackend } from "../support/test-database.js";
import { joinSharedAttachWorld, sharedAttachWorld, type AttachWorld } from "./attach-world.js";

// 000 §3.1's limits are the database's: concurrent attaches of one disk serialise on the disk's row
// (a guarded increment of attachment_count, CHECK ≤ max_attachments), so exactly max_attachments win
// however the callers interleave. Run on PGlite and, with DATABASE_URL, on PostgreSQL (pool of 20).
describe(`disk attachment limits under concurrent attaches (${selectedBackend()})`, function () {
  let w: AttachWorld;
  joinSharedAttachWorld();
  before(async () => {
    w = await sharedAttachWorld();
  });

  it("lets exactly 10 of 50 concurrent attaches of a shared disk with max_attachments 10 through, all read-only", async () => {
    const disk = await w.disk(w.alice, { shareMode: "shared", maxAttachments: 10 });
    const instances = await w.stoppedInstances(w.alice, 50);
    const outcomes = await Promise.allSettled(instances.map((id) => w.attach(id, disk)));
    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(won).to.have.length(10);
    expect(lost).to.have.length(40);
    for (const l of lost)
      expect((l.reason as { reason?: string }).reason, String(l.reason)).to.equal("MAX_ATTACHMENTS_REACHED");
    const rows = await w.attachmentRows({ disk_id: disk });
    expect(rows).to.have.length(10);
    expect(new Set(rows.map((r) => r.mount_mode))).to.deep.equal(new Set(["ro"]));
    expect(await w.diskRow(disk)).to.deep.equal({ status: "attached", attachment_count: 10 });
  });

  it("lets exactly one of 20 concurrent attaches of an exclusive disk through", async () => {
    const disk = await w.disk(w.alice);
    const instances = await w.stoppedInstances(w.alice, 20);
    const outcomes = await Promise.allSettled(instances.map((id) => w.attach(id, disk)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).to.have.length(1);
    for (const o of outcomes)
      if (o.status === "rejected") expect((o.reason as { reason?: string }).reason).to.equal("DISK_IN_USE");
    expect(await w.attachmentRows({ disk_id: disk })).to.have.length(1);
    expect(await w.diskRow(disk)).to.deep.equal({ status: "attached", attachment_count: 1 });
  });

  it("records one attachment when the same disk is attached to the same instance 10 times at once", async () => {
    const disk = await w.disk(w.alice, { shareMode: "shared", maxAttachments: 5 });
    const [instance] = await w.stoppedInstances(w.alice, 1);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => w.attach(instance!, disk)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).to.have.length(1);
    for (const o of outcomes)
      if (o.status === "rejected") expect((o.reason as { code?: string }).code).to.equal("already_exists");
    expect(await w.diskRow(disk)).to.deep.equal({ status: "attached", attachment_count: 1 });
  });

  it("refuses a counter above max_attachments or a shared rw row even written directly (CHECK constraints)", async () => {
    const disk = await w.disk(w.alice, { shareMode: "shared", maxAttachments: 2 });
    let err: unknown;
    await w
      .knex("private_data_disks")
      .where({ id: disk })
      .update({ attachment_count: 3 })
      .catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/private_data_disks_attachment_count_check/);
    const [instance] = await w.stoppedInstances(w.alice, 1);
    const a = await w.attach(instance!, disk);
    err = undefined;
    await w
      .knex("instance_private_data_disk_attachments")
      .where({ id: a.id })
      .update({ mount_mode: "rw" })
      .catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/ipdda_shared_read_only_check/);
  });
});
