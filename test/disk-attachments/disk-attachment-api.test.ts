import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import {
  DiskAttachmentOrigin,
  DiskAttachmentStatus,
  DiskMountMode,
  DiskStatus,
} from "../../gen/edgehub/admin/v1/disk_pb.js";
import { InstanceStatus, RentalMode } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { transitionAttachment } from "../../hub/disk-attachments/disk-attachment-lifecycle.js";
import { counts, failure } from "../catalog/catalog-fixtures.js";
import { errorReasons } from "../support/api-conventions.js";
import { selectedBackend } from "../support/test-database.js";
import { joinSharedAttachWorld, sharedAttachWorld, type AttachWorld } from "./attach-world.js";

// DiskService's attachment block on a real hub (the compute agent played through the real command
// store, see attach-world.ts): attach/detach on stopped and running instances, the rules of 000
// §3.1 and the machine type's rule (§9.1) with precise refusals that change nothing.
describe(`DiskService attachments: attach, detach, rules and refusals (${selectedBackend()})`, function () {
  let w: AttachWorld;
  joinSharedAttachWorld();
  before(async () => {
    w = await sharedAttachWorld();
  });
  afterEach(async () => {
    await w.knex("instance_attachment_rules").update({
      max_attachable: w.knex.raw("CASE machine_type WHEN 'pc_farm' THEN 5 ELSE 10 END"),
      restrictions: JSON.stringify({ min_instance_memory: 0, supported_disk_types: ["standard", "ssd", "nvme"] }),
    });
    w.play = {};
  });

  // What a refusal must not write. (Other agent commands, e.g. the hub's own domain listings, may come and go.)
  const TABLES = ["instance_private_data_disk_attachments", "audit_log"];
  const written = async () => ({
    ...(await counts(w.knex, TABLES)),
    diskCommands: Number(
      (
        (await w.knex("agent_commands").whereIn("kind", ["attach_disk", "detach_disk"]).count("* as n")) as {
          n: number;
        }[]
      )[0]!.n,
    ),
  });
  async function refused(call: () => Promise<unknown>, code: Code, reason?: string) {
    const before = await written();
    const err = await failure(call());
    expect(err.code, err.message).to.equal(code);
    if (reason) expect(errorReasons(err)).to.include(reason);
    expect(await written()).to.deep.equal(before);
    return err;
  }
  const start = async (id: string, owner = w.alice) => {
    await w.as(owner).startInstance({ id, computePoolId: w.pool.poolId, rentalMode: RentalMode.SHARED });
    await w.converge(id, InstanceStatus.RUNNING);
  };

  it("records an attachment to a stopped instance as attached (vdb, /mnt/data1, rw), the disk attached, with an audit row", async () => {
    const disk = await w.disk(w.alice, { name: "data" });
    const [instance] = await w.stoppedInstances(w.alice, 1);
    const { attachment } = await w.disks(w.alice).attachDisk({ diskId: disk, instanceId: instance! });
    expect(attachment).to.include({
      instanceId: instance,
      diskId: disk,
      targetDev: "vdb",
      mountPath: "/mnt/data1",
      mountMode: DiskMountMode.RW,
      status: DiskAttachmentStatus.ATTACHED,
      origin: DiskAttachmentOrigin.MANUAL,
    });
    expect((await w.disks(w.alice).getDisk({ id: disk })).disk!.status).to.equal(DiskStatus.ATTACHED);
    expect(
      await w.knex("audit_log").where({ action: "disk.attach", target_id: attachment!.id }).first("id"),
    ).to.not.equal(undefined);
    const listed = await w.disks(w.alice).listInstanceDisks({ instanceId: instance! });
    expect(listed.disks.map((d) => [d.attachment!.targetDev, d.disk!.name])).to.deep.equal([["vdb", "data"]]);
    const byDisk = await w.disks(w.alice).listDiskAttachments({ diskId: disk });
    expect(byDisk.attachments.map((a) => a.id)).to.deep.equal([attachment!.id]);

    // Detach of a stopped instance with no domain is immediate; the disk is available again.
    const detached = await w.disks(w.alice).detachDisk({ diskId: disk, instanceId: instance! });
    expect(detached.attachment).to.equal(undefined);
    expect((await w.disks(w.alice).getDisk({ id: disk })).disk!.status).to.equal(DiskStatus.AVAILABLE);
    expect((await w.disks(w.alice).listDiskAttachments({ diskId: disk })).attachments).to.have.length(0);
  });

  it("refuses rw on a shared disk, naming the rule", async () => {
    const disk = await w.disk(w.alice, { shareMode: "shared", maxAttachments: 3 });
    const [instance] = await w.stoppedInstances(w.alice, 1);
    const err = await refused(
      async () => w.disks(w.alice).attachDisk({ diskId: disk, instanceId: instance!, mountMode: DiskMountMode.RW }),
      Code.InvalidArgument,
    );
    expect(err.rawMessage)
      .to.match(/mount_mode/)
      .and.match(/shared disk mounts read-only \(ro\) only/);
    const ok = await w.disks(w.alice).attachDisk({ diskId: disk, instanceId: instance! });
    expect(ok.attachment!.mountMode).to.equal(DiskMountMode.RO);
  });

  it("refuses a duplicate attach, a detach of what is not attached, and an exclusive disk in use elsewhere", async () => {
    const disk = await w.disk(w.alice);
    const [a, b] = await w.stoppedInstances(w.alice, 2);
    await w.disks(w.alice).attachDisk({ diskId: disk, instanceId: a! });
    await refused(async () => w.disks(w.alice).attachDisk({ diskId: disk, instanceId: a! }), Code.AlreadyExists);
    await refused(
      async () => w.disks(w.alice).detachDisk({ diskId: disk, instanceId: b! }),
      Code.FailedPrecondition,
      "NOT_ATTACHED",
    );
    const err = await refused(
      async () => w.disks(w.alice).attachDisk({ diskId: disk, instanceId: b! }),
      Code.FailedPrecondition,
      "DISK_IN_USE",
    );
    expect(err.rawMessage).to.include(a!);
  });

  it("refuses over the machine type's max_attachable, memory below its minimum and a disk type it does not support", async () => {
    const [instance] = await w.stoppedInstances(w.alice, 1);
    await w.knex("instance_attachment_rules").where({ machine_type: "cpu_server" }).update({ max_attachable: 2 });
    for (let k = 0; k < 2; k++)
      await w.disks(w.alice).attachDisk({ diskId: await w.disk(w.alice), instanceId: instance! });
    const over = await refused(
      async () => w.disks(w.alice).attachDisk({ diskId: await w.disk(w.alice), instanceId: instance! }),
      Code.ResourceExhausted,
      "MAX_ATTACHABLE_REACHED",
    );
    expect(over.rawMessage).to.match(/at most 2 data disks \(max_attachable\)/);

    await w
      .knex("instance_attachment_rules")
      .where({ machine_type: "cpu_server" })
      .update({ restrictions: JSON.stringify({ min_instance_memory: 4, supported_disk_types: ["ssd", "nvme"] }) });
    const [small] = await w.stoppedInstances(w.alice, 1, { memoryGb: 2 });
    const memory = await refused(
      async () =>
        w.disks(w.alice).attachDisk({ diskId: await w.disk(w.alice, { diskType: "ssd" }), instanceId: small! }),
      Code.FailedPrecondition,
      "INSTANCE_MEMORY_BELOW_RULE",
    );
    expect(memory.rawMessage).to.match(/at least 4 GB of instance memory \(min_instance_memory\)/);
    const [big] = await w.stoppedInstances(w.alice, 1, { memoryGb: 8 });
    const type = await refused(
      async () =>
        w.disks(w.alice).attachDisk({ diskId: await w.disk(w.alice, { diskType: "standard" }), instanceId: big! }),
      Code.FailedPrecondition,
      "DISK_TYPE_NOT_SUPPORTED",
    );
    expect(type.rawMessage).to.match(/supported_disk_types/);
    const ok = await w
      .disks(w.alice)
      .attachDisk({ diskId: await w.disk(w.alice, { diskType: "nvme" }), instanceId: big! });
    expect(ok.attachment!.status).to.equal(DiskAttachmentStatus.ATTACHED);
  });

  it("answers another user's disk and instance as not found, and bad ids as invalid_argument", async () => {
    const bobs = await w.disk(w.bob);
    const [mine] = await w.stoppedInstances(w.alice, 1);
    await refused(async () => w.disks(w.alice).attachDisk({ diskId: bobs, instanceId: mine! }), Code.NotFound);
    const [his] = await w.stoppedInstances(w.bob, 1);
    await refused(
      async () => w.disks(w.alice).attachDisk({ diskId: await w.disk(w.alice), instanceId: his! }),
      Code.NotFound,
    );
    const bad = await refused(
      async () => w.disks(w.alice).attachDisk({ diskId: "nope", instanceId: mine! }),
      Code.InvalidArgument,
    );
    expect(bad.rawMessage).to.match(/disk_id/);
    // Without a disk or instance: what the caller may see — a user, the attachments of their own disks.
    const bobsAttachment = await w.disks(w.bob).attachDisk({ diskId: bobs, instanceId: his! });
    const seen = (await w.disks(w.alice).listDiskAttachments({})).attachments;
    const owners = (await w
      .knex("private_data_disks")
      .whereIn(
        "id",
        seen.map((a) => a.diskId),
      )
      .distinct("user_id")) as { user_id: string }[];
    expect(owners.map((o) => o.user_id)).to.deep.equal(seen.length ? [w.alice.userId] : []);
    expect(seen.map((a) => a.id)).to.not.include(bobsAttachment.attachment!.id);
    await refused(
      async () => w.disks(w.alice).attachDisk({ diskId: mine!, instanceId: mine!, mountPath: "relative/path" }),
      Code.NotFound,
    );
    const path = await refused(
      async () =>
        w.disks(w.alice).attachDisk({ diskId: await w.disk(w.alice), instanceId: mine!, mountPath: "relative/path" }),
      Code.InvalidArgument,
    );
    expect(path.rawMessage).to.match(/mount_path/);
  });

  it("hot-plugs into a running instance: attaching with an attach_disk command, attached on the agent's report, then detached", async () => {
    // A fresh owner: start auto-attaches the owner's disks, and other tests left alice many.
    const owner = await w.freshUser("dave");
    const [instance] = await w.stoppedInstances(owner, 1);
    await start(instance!, owner);
    const disk = await w.disk(owner, { shareMode: "shared", maxAttachments: 2 });
    const { attachment } = await w
      .disks(owner)
      .attachDisk({ diskId: disk, instanceId: instance!, mountPath: "/srv/shared" });
    expect(attachment).to.include({
      status: DiskAttachmentStatus.ATTACHING,
      mountPath: "/srv/shared",
      mountMode: DiskMountMode.RO,
    });
    const row = await w
      .knex("instance_private_data_disk_attachments")
      .where({ id: attachment!.id })
      .first("command_id");
    const cmd = (await w.knex("agent_commands").where({ id: row.command_id }).first("payload")).payload
      .attachDisk as Record<string, unknown>;
    const vm = (await w.knex("instances").where({ id: instance }).first("virtual_machine_id"))
      .virtual_machine_id as string;
    expect(cmd).to.deep.include({
      domainName: `edgehub-${vm}`,
      image: { pool: "private-data-disks", image: `disk-${disk}` },
      cluster: { monHosts: ["v2:127.0.0.1:3300"] },
      readOnly: true,
      shareable: true,
      live: true,
    });
    await w.settle();
    // (auto-attach at start took alice's other disks too: look at this disk's attachment only)
    const [now] = (await w.disks(owner).listDiskAttachments({ diskId: disk })).attachments;
    expect(now).to.include({ status: DiskAttachmentStatus.ATTACHED, error: "" });
    expect(now!.attachTime).to.not.equal(undefined);

    await refused(async () => w.disks(owner).attachDisk({ diskId: disk, instanceId: instance! }), Code.AlreadyExists);
    const detaching = await w.disks(owner).detachDisk({ diskId: disk, instanceId: instance! });
    expect(detaching.attachment!.status).to.equal(DiskAttachmentStatus.DETACHING);
    await refused(
      async () => w.disks(owner).detachDisk({ diskId: disk, instanceId: instance! }),
      Code.FailedPrecondition,
      "ATTACHMENT_IN_FLIGHT",
    );
    await w.settle();
    expect((await w.disks(owner).listDiskAttachments({ diskId: disk })).attachments).to.have.length(0);
    expect(await w.diskRow(disk)).to.deep.equal({ status: "available", attachment_count: 0 });
  });

  it("detaches from a stopped instance's kept domain through detach_disk (its definition still holds the disk)", async () => {
    // A fresh owner: start auto-attaches the owner's disks, and other tests left alice many.
    const owner = await w.freshUser("erin");
    const [instance] = await w.stoppedInstances(owner, 1);
    await start(instance!, owner);
    const disk = await w.disk(owner);
    await w.disks(owner).attachDisk({ diskId: disk, instanceId: instance! });
    await w.settle();
    await w.as(owner).stopInstance({ id: instance! });
    await w.converge(instance!, InstanceStatus.STOPPED);
    const [kept] = (await w.disks(owner).listDiskAttachments({ diskId: disk })).attachments;
    expect(kept!.status).to.equal(DiskAttachmentStatus.ATTACHED);
    const { attachment } = await w.disks(owner).detachDisk({ diskId: disk, instanceId: instance! });
    expect(attachment!.status).to.equal(DiskAttachmentStatus.DETACHING);
    const row = await w
      .knex("instance_private_data_disk_attachments")
      .where({ id: attachment!.id })
      .first("command_id");
    expect((await w.knex("agent_commands").where({ id: row.command_id }).first("kind")).kind).to.equal("detach_disk");
    await w.settle();
    expect(await w.diskRow(disk)).to.deep.equal({ status: "available", attachment_count: 0 });
  });

  it("marks an attach the agent fails as failed with its error and frees the disk", async () => {
    // A fresh owner: start auto-attaches the owner's disks, and other tests left alice many.
    const owner = await w.freshUser("frank");
    const [instance] = await w.stoppedInstances(owner, 1);
    await start(instance!, owner);
    const disk = await w.disk(owner);
    w.play = { diskFailWith: "Cannot attach a device to domain: rbd: connection timed out" };
    await w.disks(owner).attachDisk({ diskId: disk, instanceId: instance! });
    await w.settle();
    const [failed] = (await w.disks(owner).listDiskAttachments({ diskId: disk })).attachments;
    expect(failed).to.include({ status: DiskAttachmentStatus.FAILED });
    expect(failed!.error).to.match(/connection timed out/);
    expect(await w.diskRow(disk)).to.deep.equal({ status: "available", attachment_count: 0 });
    // A failed attachment can be attached again (it replaces the failed record) or removed.
    w.play = {};
    await w.disks(owner).attachDisk({ diskId: disk, instanceId: instance! });
    await w.settle();
    expect((await w.disks(owner).listDiskAttachments({ diskId: disk })).attachments.map((a) => a.status)).to.deep.equal(
      [DiskAttachmentStatus.ATTACHED],
    );
  });

  it("rejects illegal attachment transitions by the state machine", async () => {
    const [instance] = await w.stoppedInstances(w.alice, 1);
    const a = await w.attach(instance!, await w.disk(w.alice));
    let err: unknown;
    await w.knex
      .transaction((trx) => transitionAttachment(trx, a.id, "failed", new Date()))
      .catch((e: unknown) => (err = e));
    expect((err as { reason?: string }).reason).to.equal("ILLEGAL_ATTACHMENT_TRANSITION");
    expect(String(err)).to.match(/cannot go from attached to failed/);
  });
});
