import { expect } from "chai";
import { Code, ConnectError } from "@connectrpc/connect";
import { DiskSnapshotStatus, DiskType } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { connectErrorOf, errorReasons, violatedFields } from "../support/api-conventions.js";
import { DiskWorld } from "./disk-world.js";

describe("DiskService: snapshots and clones (000 §3.2)", function () {
  this.timeout(120_000);
  const w = new DiskWorld();
  let diskId = "";
  before(async () => {
    await w.start();
    diskId = (await w.create({ name: "origin", sizeGb: 12, diskType: DiskType.SSD })).disk!.id;
    await w.available(diskId);
  });
  after(() => w.stop());

  it("takes a snapshot and protects it; available only after the gateway did both", async () => {
    const { snapshot } = await w.as(w.alice).createDiskSnapshot({ diskId, snapshot: { name: "before-upgrade" } });
    expect(snapshot!.status).to.equal(DiskSnapshotStatus.CREATING);
    expect(snapshot!.rbdSnapshotName).to.equal(`snap-${snapshot!.id}`);
    expect(snapshot!.sizeGb).to.equal(12);
    await w.settleSnapshot(snapshot!.id);
    const s = (await w.as(w.alice).getDiskSnapshot({ id: snapshot!.id })).snapshot!;
    expect(s.status).to.equal(DiskSnapshotStatus.AVAILABLE);
    expect(s.protected).to.equal(true);
    const img = w.gateway.image("private-data-disks-ssd", `disk-${diskId}`)!;
    expect(img.snapshots.get(`snap-${s.id}`)).to.deep.equal({ sizeBytes: 12n * 1024n ** 3n, protected: true });
    const listed = await w.as(w.alice).listDiskSnapshots({ diskId });
    expect(listed.snapshots.map((x) => x.id)).to.include(s.id);
  });

  it("refuses bad snapshot input, duplicate names, other users' disks and unknown ids", async () => {
    let err = await connectErrorOf(w.as(w.alice).createDiskSnapshot({ diskId, snapshot: { name: "" } }));
    expect(violatedFields(err)).to.include("snapshot.name");
    err = await connectErrorOf(w.as(w.alice).createDiskSnapshot({ diskId, snapshot: { name: "BEFORE-upgrade" } }));
    expect(err.code).to.equal(Code.AlreadyExists);
    err = await connectErrorOf(w.as(w.bob).createDiskSnapshot({ diskId, snapshot: { name: "mine-now" } }));
    expect(err.code).to.equal(Code.NotFound);
    err = await connectErrorOf(w.as(w.bob).listDiskSnapshots({ diskId }));
    expect(err.code).to.equal(Code.NotFound);
    expect((await w.as(w.bob).listDiskSnapshots({})).snapshots).to.deep.equal([]);
    err = await connectErrorOf(w.as(w.alice).getDiskSnapshot({ id: "01900000-0000-7000-8000-000000000000" }));
    expect(err.code).to.equal(Code.NotFound);
    const creating = (await w.create({ name: "not-ready" })).disk!;
    err = await connectErrorOf(w.as(w.alice).createDiskSnapshot({ diskId: creating.id, snapshot: { name: "s" } }));
    expect(errorReasons(err)).to.include("DISK_NOT_READY");
  });

  it("clones a snapshot into a new disk charged to the caller: parent recorded, type and pool inherited", async () => {
    const snap = (await w.as(w.alice).listDiskSnapshots({ diskId })).snapshots[0]!;
    const tooSmall = await connectErrorOf(
      w.as(w.alice).cloneDisk({ snapshotId: snap.id, disk: { name: "small", sizeGb: 5 } }),
    );
    expect(violatedFields(tooSmall)).to.include("disk.size_gb");
    const usedBefore = await w.quotaUsedGb(w.alice.userId);
    const { disk } = await w.as(w.alice).cloneDisk({ snapshotId: snap.id, disk: { name: "copy", sizeGb: 20 } });
    expect(disk!.parentSnapshotId).to.equal(snap.id);
    expect(disk!.diskType).to.equal(DiskType.SSD);
    expect(disk!.rbdPool).to.equal("private-data-disks-ssd");
    expect(await w.quotaUsedGb(w.alice.userId)).to.equal(usedBefore + 20);
    // Cloned at the snapshot's 12 GB, then grown to the 20 asked for.
    const ready = await w.available(disk!.id);
    expect(ready.sizeGb).to.equal(20);
    const img = w.gateway.image("private-data-disks-ssd", `disk-${disk!.id}`)!;
    expect(img.parent).to.deep.equal({
      pool: "private-data-disks-ssd",
      image: `disk-${diskId}`,
      snapshot: `snap-${snap.id}`,
    });
    expect(img.sizeBytes).to.equal(20n * 1024n ** 3n);
    expect((await w.as("admin").listDisks({ parentSnapshotId: snap.id })).disks.map((d) => d.id)).to.deep.equal([
      disk!.id,
    ]);
  });

  it("a snapshot with a live clone, and its disk, cannot be deleted; after the clone goes both can", async () => {
    const snap = (await w.as(w.alice).listDiskSnapshots({ diskId })).snapshots[0]!;
    const clone = (await w.as("admin").listDisks({ parentSnapshotId: snap.id })).disks[0]!;
    let err = await connectErrorOf(w.as(w.alice).deleteDiskSnapshot({ id: snap.id }));
    expect(errorReasons(err)).to.include("SNAPSHOT_HAS_CLONES");
    err = await connectErrorOf(w.as(w.alice).deleteDisk({ id: diskId }));
    expect(errorReasons(err)).to.include("DISK_HAS_CLONES");
    await w.as(w.alice).deleteDisk({ id: clone.id });
    await w.converge(clone.id, () => false).catch(() => undefined);
    const r = await w.as(w.alice).deleteDiskSnapshot({ id: snap.id });
    expect(r.snapshot!.status).to.equal(DiskSnapshotStatus.DELETING);
    await w.settleSnapshot(snap.id);
    expect(w.gateway.image("private-data-disks-ssd", `disk-${diskId}`)!.snapshots.size).to.equal(0);
    expect((await connectErrorOf(w.as(w.alice).getDiskSnapshot({ id: snap.id }))).code).to.equal(Code.NotFound);
  });

  it("a clone racing the deletion of its parent disk: exactly one of them wins", async () => {
    for (let round = 0; round < 3; round++) {
      const parent = (await w.create({ name: `race-parent-${round}` })).disk!;
      await w.available(parent.id);
      const snap = (await w.as(w.alice).createDiskSnapshot({ diskId: parent.id, snapshot: { name: "s" } })).snapshot!;
      await w.settleSnapshot(snap.id);
      const [clone, del] = await Promise.allSettled([
        w.as(w.alice).cloneDisk({ snapshotId: snap.id, disk: { name: `race-clone-${round}` } }),
        w.as(w.alice).deleteDisk({ id: parent.id }),
      ]);
      expect([clone.status, del.status].filter((x) => x === "fulfilled").length, `round ${round}`).to.equal(1);
      const lost = (clone.status === "rejected" ? clone : del) as PromiseRejectedResult;
      expect(errorReasons(ConnectError.from(lost.reason))).to.satisfy(
        (r: string[]) => r.includes("DISK_NOT_READY") || r.includes("DISK_HAS_CLONES"),
      );
    }
  });

  it("deleting a disk removes its image with its snapshots", async () => {
    const { snapshot } = await w.as(w.alice).createDiskSnapshot({ diskId, snapshot: { name: "last" } });
    await w.settleSnapshot(snapshot!.id);
    const cloneOfDeleted = await connectErrorOf(
      w.as(w.alice).cloneDisk({ snapshotId: "01900000-0000-7000-8000-000000000000", disk: { name: "x" } }),
    );
    expect(cloneOfDeleted.code).to.equal(Code.NotFound);
    await w.as(w.alice).deleteDisk({ id: diskId });
    const gone = await w.converge(diskId, () => false).catch(() => undefined);
    expect(gone).to.equal(undefined);
    expect(w.gateway.image("private-data-disks-ssd", `disk-${diskId}`)).to.equal(undefined);
    expect((await connectErrorOf(w.as(w.alice).getDiskSnapshot({ id: snapshot!.id }))).code).to.equal(Code.NotFound);
    expect((await connectErrorOf(w.as(w.alice).getDisk({ id: diskId }))).code).to.equal(Code.NotFound);
  });
});
