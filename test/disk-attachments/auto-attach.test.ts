import { expect } from "chai";
import { DiskAttachmentOrigin, DiskAttachmentStatus, DiskMountMode } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { InstanceStatus, RentalMode } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { selectedBackend } from "../support/test-database.js";
import { joinSharedAttachWorld, sharedAttachWorld, type AttachWorld } from "./attach-world.js";

// 000 §8.2.2: when an instance becomes running, its recorded attachments are applied to the domain
// and the owner's other disks attach in creation order with /mnt/data{n}; exclusive disks in use
// elsewhere and full shared disks are skipped, one failure never blocks the others or the start,
// and the outcome is in the instance's event log. The compute agent is played (attach-world.ts);
// test/disk-attachments/rbd-attach-qemu.test.ts runs the agent side on real QEMU and Ceph.
describe(`auto-attach of the owner's disks at instance start (${selectedBackend()})`, function () {
  let w: AttachWorld;
  joinSharedAttachWorld();
  before(async () => {
    w = await sharedAttachWorld();
  });

  it("applies recorded attachments, attaches available disks in creation order, skips what the rules refuse, survives a failure", async () => {
    // A fresh owner: the other suites' disks of alice would be auto-attached too.
    const carol = await w.freshUser("carol");
    const [instance, other, third] = await w.stoppedInstances(carol, 3);
    // Recorded while stopped: vdb at /mnt/data1.
    const recorded = await w.disk(carol, { name: "recorded" });
    await w.disks(carol).attachDisk({ diskId: recorded, instanceId: instance! });
    const first = await w.disk(carol, { name: "first" });
    const inUse = await w.disk(carol, { name: "in-use" });
    await w.attach(other!, inUse);
    const full = await w.disk(carol, { name: "full", shareMode: "shared", maxAttachments: 1 });
    await w.attach(third!, full);
    const shared = await w.disk(carol, { name: "shared", shareMode: "shared", maxAttachments: 3 });
    const creating = await w.disk(carol, { name: "creating", status: "creating" });
    const bobs = await w.disk(w.bob, { name: "bobs" });

    w.play = { failTargets: ["vdc"] }; // the first auto-attached disk fails on the agent
    await w.as(carol).startInstance({ id: instance!, computePoolId: w.pool.poolId, rentalMode: RentalMode.SHARED });
    await w.converge(instance!, InstanceStatus.RUNNING);
    await w.settle();

    const rows = (await w.disks(carol).listDiskAttachments({ instanceId: instance! })).attachments;
    const by = new Map(rows.map((a) => [a.diskId, a]));
    expect(by.get(recorded)).to.include({
      targetDev: "vdb",
      mountPath: "/mnt/data1",
      status: DiskAttachmentStatus.ATTACHED,
    });
    expect(by.get(first)).to.include({
      targetDev: "vdc",
      mountPath: "/mnt/data2",
      mountMode: DiskMountMode.RW,
      status: DiskAttachmentStatus.FAILED,
      origin: DiskAttachmentOrigin.AUTO,
    });
    expect(by.get(first)!.error).to.match(/connection timed out/);
    expect(by.get(shared)).to.include({
      targetDev: "vdd",
      mountPath: "/mnt/data3",
      mountMode: DiskMountMode.RO,
      status: DiskAttachmentStatus.ATTACHED,
      origin: DiskAttachmentOrigin.AUTO,
    });
    for (const d of [inUse, full, creating, bobs]) expect(by.has(d), d).to.equal(false);
    expect((await w.as(carol).getInstance({ id: instance! })).instance!.status).to.equal(InstanceStatus.RUNNING);
    expect(await w.diskRow(first)).to.deep.equal({ status: "available", attachment_count: 0 });

    const events = (await w.as(carol).listInstanceEvents({ instanceId: instance!, pageSize: 200 })).events.filter(
      (e) => e.kind === "disk",
    );
    const summary = events.find((e) => e.message.startsWith("Auto-attach at start"))!;
    expect(summary.message).to.equal("Auto-attach at start: 2 attaching, 1 re-applied, 2 skipped, 0 failed");
    const skipped = (summary.attributes as { skipped: { disk_id: string; reason: string }[] }).skipped;
    expect(skipped.map((s) => s.disk_id)).to.deep.equal([inUse, full]);
    expect(skipped[0]!.reason).to.match(/exclusive and attached to instance/);
    expect(skipped[1]!.reason).to.match(/max_attachments/);
    expect(events.some((e) => /Attaching disk .* as vdc failed: rbd: connection timed out/.test(e.message))).to.equal(
      true,
    );
  });
});
