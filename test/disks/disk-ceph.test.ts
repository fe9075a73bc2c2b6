import { expect } from "chai";
import type { Client } from "@connectrpc/connect";
import {
  DiskService,
  DiskSnapshotStatus,
  DiskStatus,
  DiskType,
  type Disk,
} from "../../gen/edgehub/admin/v1/disk_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { disposeAgents, spawnAgent, waitFor, type AgentProcess } from "../fleet/support/agent-process.js";
import { createSite, mintToken } from "../fleet/support/fleet-fixtures.js";
import { CEPH_POOLS, plainCluster as P, rbdInfo, rbdPurge, rbdSnapLs, requireCeph } from "../support/ceph-backends.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD } from "../catalog/catalog-fixtures.js";

// Every disk operation through the admin API of a real hub, run by a real agent process enrolled as
// ceph_gateway on the real plain dev cluster, and checked independently with the `rbd` CLI.

const GiB = 1024 ** 3;

describe("private data disks on real Ceph: admin API → hub → ceph_gateway agent → rbd CLI", function () {
  this.timeout(300_000);
  let t: TestHub;
  let agent: AgentProcess | undefined;
  let disks: Client<typeof DiskService>;
  const images: string[] = [];
  const POOL = CEPH_POOLS.standard;

  before(async function () {
    await requireCeph(this, P, "private data disks on real Ceph");
    t = await startTestHub();
    const site = await createSite(t, "disks");
    agent = spawnAgent({
      hub: `127.0.0.1:${t.hub.grpcPort}`,
      joinToken: await mintToken(t, site, { role: AgentRole.CEPH_GATEWAY }),
      role: "ceph_gateway",
      hostname: "ceph-gw-disks",
      extraArgs: ["--ceph-conf", P.conf, "--ceph-user", P.user, "--ceph-timeout", "10"],
    });
    const people = new CatalogPeople(t.hub.db.knex);
    await people.user("alice", "user", await people.tenant("tenant-a"));
    disks = t.client(DiskService, await t.login("alice", PASSWORD, "tenant-a"));
    // The gateway's Hello makes the hub ask it for its pools at once.
    const admin = t.client(DiskService, await t.adminToken());
    await waitFor(
      "the ceph_gateway's pools to be listed by the hub",
      async () => (await admin.listStoragePools({ name: POOL })).storagePools[0],
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent?.output().slice(-3000)}`);
    });
  });

  after(async () => {
    if (agent) await disposeAgents([agent]);
    await t?.stop();
    // Clones first: a parent with children cannot be purged.
    for (const image of [...images].reverse()) await rbdPurge(P, POOL, image).catch(() => undefined);
  });

  async function until(id: string, what: string, done: (d: Disk) => boolean): Promise<Disk> {
    return waitFor(
      `disk ${id} ${what}`,
      async () => {
        const d = (await disks.getDisk({ id })).disk!;
        if (d.status === DiskStatus.ERROR) throw new Error(`disk ${id} failed: ${d.lastError}`);
        return done(d) ? d : undefined;
      },
      120_000,
    );
  }

  async function gone(id: string): Promise<void> {
    await waitFor(
      `disk ${id} to be gone`,
      async () =>
        await disks
          .getDisk({ id })
          .then(() => false)
          .catch(() => true),
      120_000,
    );
  }

  it("keeps the gateway's pools and cluster access (what attach commands carry) from its real listing", async () => {
    const admin = t.client(DiskService, await t.adminToken());
    const { storagePools } = await admin.listStoragePools({});
    expect(storagePools.map((p) => p.name)).to.include.members(Object.values(CEPH_POOLS));
    const gw = (await t.hub.db.knex("ceph_gateways").first("mon_hosts", "auth_user")) as {
      mon_hosts: string[];
      auth_user: string;
    };
    expect(gw.mon_hosts.join(",")).to.include("127.0.0.1:3300");
    // The plain cluster runs without cephx: no user for clients to name.
    expect(gw.auth_user).to.equal(P.auth === "cephx" ? P.user : "");
  });

  it("creates, resizes online, snapshots (protected), clones and deletes images the rbd CLI confirms", async () => {
    const { disk } = await disks.createDisk({ disk: { name: "data", sizeGb: 1, diskType: DiskType.STANDARD } });
    images.push(disk!.rbdImageName);
    expect(disk!.status).to.equal(DiskStatus.CREATING);
    await until(disk!.id, "available", (d) => d.status === DiskStatus.AVAILABLE);
    expect((await rbdInfo(P, POOL, disk!.rbdImageName))?.size).to.equal(1 * GiB);

    await disks.resizeDisk({ id: disk!.id, sizeGb: 2 });
    await until(disk!.id, "grown to 2 GB", (d) => d.provisionedSizeGb === 2);
    expect((await rbdInfo(P, POOL, disk!.rbdImageName))?.size).to.equal(2 * GiB);

    const { snapshot } = await disks.createDiskSnapshot({ diskId: disk!.id, snapshot: { name: "v1" } });
    await waitFor(
      "the snapshot to be available",
      async () => {
        const s = (await disks.getDiskSnapshot({ id: snapshot!.id })).snapshot!;
        if (s.status === DiskSnapshotStatus.ERROR) throw new Error(s.lastError);
        return s.status === DiskSnapshotStatus.AVAILABLE;
      },
      120_000,
    );
    const snaps = await rbdSnapLs(P, POOL, disk!.rbdImageName);
    expect(snaps.map((s) => [s.name, s.protected])).to.deep.equal([[snapshot!.rbdSnapshotName, true]]);

    const { disk: clone } = await disks.cloneDisk({ snapshotId: snapshot!.id, disk: { name: "copy" } });
    images.push(clone!.rbdImageName);
    await until(clone!.id, "cloned", (d) => d.status === DiskStatus.AVAILABLE);
    const info = await rbdInfo(P, POOL, clone!.rbdImageName);
    expect(info?.size).to.equal(2 * GiB);
    expect(info?.parent).to.deep.include({
      pool: POOL,
      image: disk!.rbdImageName,
      snapshot: snapshot!.rbdSnapshotName,
    });

    await disks.deleteDisk({ id: clone!.id });
    await gone(clone!.id);
    expect(await rbdInfo(P, POOL, clone!.rbdImageName)).to.equal(undefined);

    await disks.deleteDiskSnapshot({ id: snapshot!.id });
    await waitFor(
      "the snapshot to be removed",
      async () => (await rbdSnapLs(P, POOL, disk!.rbdImageName)).length === 0,
      120_000,
    );

    // A disk is removed with the snapshots it still has.
    const { snapshot: last } = await disks.createDiskSnapshot({ diskId: disk!.id, snapshot: { name: "v2" } });
    await waitFor(
      "the second snapshot",
      async () => (await disks.getDiskSnapshot({ id: last!.id })).snapshot!.protected,
      120_000,
    );
    await disks.deleteDisk({ id: disk!.id });
    await gone(disk!.id);
    expect(await rbdInfo(P, POOL, disk!.rbdImageName)).to.equal(undefined);
  });
});
