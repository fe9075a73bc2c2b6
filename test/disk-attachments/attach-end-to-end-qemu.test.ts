import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { DiskAttachmentStatus, DiskService } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { RentalMode } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { newId } from "../../hub/db/ids.js";
import { PASSWORD } from "../catalog/catalog-fixtures.js";
import { waitFor } from "../fleet/support/agent-process.js";
import { AgentWorld } from "../instances/agent-world.js";
import { CEPH_POOLS, plainCluster, rbdCli, rbdCreate, rbdPurge, requireCeph } from "../support/ceph-backends.js";
import { buildTestImage, libvirtdAnswers } from "../support/libvirt-backends.js";
import { skipUnlessBackend } from "../support/real-backends.js";

// The whole path on real components: a hub, a real compute agent process on libvirtd + QEMU/TCG,
// RBD images in the real single-node Ceph. Start → auto-attach (000 §8.2.2) puts the owner's disk
// into the running domain; AttachDisk hot-plugs a shared disk read-only; DetachDisk removes it; a
// deleted instance frees its disks. Witnesses: virsh dumpxml and `rbd status`, never the hub's word.

const run = promisify(execFile);
const URI = "qemu:///system";
const POOL = CEPH_POOLS.standard;
const IMAGE_DIR = "/var/lib/edgehub-test-image";
const STATE_DIR = "/var/lib/edgehub-test-attach-hub";
const QEMU_RBD = "/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so";

const rbdDisks = async (name: string) =>
  [...(await run("virsh", ["-c", URI, "dumpxml", name])).stdout.matchAll(/<disk type='network'[\s\S]*?<\/disk>/g)].map(
    (m) => ({
      source: /<source protocol='rbd' name='([^']+)'/.exec(m[0])?.[1],
      target: /<target dev='([^']+)'/.exec(m[0])?.[1],
      readOnly: m[0].includes("<readonly/>"),
    }),
  );
const watchers = async (image: string) =>
  (
    JSON.parse(await rbdCli(plainCluster, ["status", `${POOL}/${image}`, "--format", "json"])) as {
      watchers: unknown[];
    }
  ).watchers.length;

describe("disk attachments end to end: hub, real compute agent, QEMU/TCG and Ceph", function () {
  this.timeout(600_000);
  let w: AgentWorld;
  const disks: string[] = [];

  before(async function () {
    await requireCeph(this, plainCluster, "disk attachments end to end");
    skipUnlessBackend(this, await libvirtdAnswers(URI), `libvirtd on ${URI} (run scripts/libvirt-dev.sh as root)`);
    skipUnlessBackend(
      this,
      fs.existsSync(QEMU_RBD),
      `QEMU's RBD block driver ${QEMU_RBD} (apt-get install qemu-block-extra)`,
    );
    const imageFile = await buildTestImage(IMAGE_DIR);
    fs.rmSync(STATE_DIR, { recursive: true, force: true });
    fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
    w = new AgentWorld({
      libvirtUri: URI,
      domainType: "qemu",
      instanceDir: path.join(STATE_DIR, "instances"),
      imageCacheDir: path.join(STATE_DIR, "images"),
      imageFile,
      hubArgs: ["--instance-network", "none"],
    });
    await w.start();
  });
  after(async () => {
    await w?.stop();
    for (const d of disks) await rbdPurge(plainCluster, POOL, `disk-${d}`).catch(() => {});
    fs.rmSync(STATE_DIR, { recursive: true, force: true, maxRetries: 3 });
  });

  /** What hub/disks records once a gateway reported the cluster and created the image: here the image is made with the rbd CLI. */
  async function seedDisks(alice: { id: string; tenant_id: string }) {
    const gateway = newId();
    await w.knex("agents").insert({
      id: gateway,
      role: "ceph_gateway",
      hostname: "ceph-gw",
      certificate_serial: "1",
      certificate_expires_at: new Date(Date.now() + 86_400_000),
      status: "connected",
    });
    await w
      .knex("ceph_gateways")
      .insert({ agent_id: gateway, mon_hosts: w.knex.raw("ARRAY[?]::text[]", [plainCluster.monHost]) });
    const pool = newId();
    await w.knex("storage_pools").insert({ id: pool, agent_id: gateway, name: POOL });
    for (const [k, shareMode] of (["exclusive", "shared"] as const).entries()) {
      const id = newId();
      await rbdCreate(plainCluster, POOL, `disk-${id}`, 64 << 20);
      await w.knex("private_data_disks").insert({
        id,
        user_id: alice.id,
        tenant_id: alice.tenant_id,
        name: `data-${k}`,
        size_gb: 1,
        provisioned_size_gb: 1,
        disk_type: "standard",
        // The shared one is not auto-attached (still creating), then becomes available for AttachDisk.
        status: shareMode === "shared" ? "creating" : "available",
        share_mode: shareMode,
        max_attachments: shareMode === "shared" ? 4 : 1,
        rbd_image_name: `disk-${id}`,
        rbd_pool: POOL,
        storage_pool_id: pool,
        created_at: new Date(Date.now() + k),
      });
      disks.push(id);
    }
  }

  it("auto-attaches at start, hot-plugs a shared disk read-only, detaches it, and frees the disks when the instance is deleted", async () => {
    const alice = (await w.knex("users").where({ username: "alice" }).first("id", "tenant_id")) as {
      id: string;
      tenant_id: string;
    };
    await seedDisks(alice);
    const [own, shared] = disks as [string, string];
    const api = w.t.client(DiskService, await w.t.login("alice", PASSWORD, "tenant-a"));
    const { instance } = await w
      .client()
      .createInstance({ instance: { name: "attach-1", cpuCores: 1, memoryGb: 1, storageGb: 1 }, imageId: w.imageId });
    const id = instance!.id;
    await w.client().startInstance({ id, computePoolId: w.site.computePoolId, rentalMode: RentalMode.SHARED });
    await w.reach(id, "running");
    const name = (await w.client().getInstance({ id })).instance!.virtualMachine!.vmName;
    // A live unplug needs the guest's ACPI: wait until it booted (its serial console says so).
    const serial = path.join(STATE_DIR, "instances", name, "serial.log");
    await waitFor(
      "the guest's boot marker",
      () => fs.existsSync(serial) && fs.readFileSync(serial, "latin1").includes("EDGEHUB-TEST-GUEST-BOOTED"),
      300_000,
      500,
    );

    const status = async (diskId: string) =>
      (await api.listDiskAttachments({ diskId })).attachments.find((a) => a.instanceId === id)?.status;
    await waitFor(
      "the owner's disk auto-attached",
      async () => (await status(own)) === DiskAttachmentStatus.ATTACHED,
      120_000,
    );
    expect(await rbdDisks(name)).to.deep.equal([{ source: `${POOL}/disk-${own}`, target: "vdb", readOnly: false }]);
    expect(await watchers(`disk-${own}`)).to.equal(1);

    await w.knex("private_data_disks").where({ id: shared }).update({ status: "available" });
    const { attachment } = await api.attachDisk({ diskId: shared, instanceId: id });
    expect(attachment!.status).to.equal(DiskAttachmentStatus.ATTACHING);
    await waitFor(
      "the shared disk hot-plugged",
      async () => (await status(shared)) === DiskAttachmentStatus.ATTACHED,
      120_000,
    );
    expect((await rbdDisks(name)).find((d) => d.target === "vdc")).to.deep.equal({
      source: `${POOL}/disk-${shared}`,
      target: "vdc",
      readOnly: true,
    });

    await api.detachDisk({ diskId: shared, instanceId: id });
    await waitFor(
      "the shared disk detached",
      async () => (await status(shared)) !== DiskAttachmentStatus.DETACHING,
      120_000,
    );
    expect(await status(shared), (await api.listDiskAttachments({ diskId: shared })).attachments[0]?.error).to.equal(
      undefined,
    );
    expect((await rbdDisks(name)).map((d) => d.target)).to.deep.equal(["vdb"]);
    expect((await w.knex("private_data_disks").where({ id: shared }).first("status")).status).to.equal("available");

    await w.client().deleteInstance({ id });
    await w.reach(id, "deleted");
    await waitFor(
      "the deleted instance's disk freed",
      async () =>
        (await w.knex("private_data_disks").where({ id: own }).first("status", "attachment_count")).attachment_count ===
        0,
      120_000,
    );
    expect((await w.knex("private_data_disks").where({ id: own }).first("status")).status).to.equal("available");
    expect(await watchers(`disk-${own}`)).to.equal(0);
  });
});
