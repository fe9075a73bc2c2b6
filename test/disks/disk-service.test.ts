import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { DiskShareMode, DiskStatus, DiskType } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { connectErrorOf, errorReasons, violatedFields, walkPages } from "../support/api-conventions.js";
import { DiskWorld, GIB } from "./disk-world.js";

describe("DiskService: private data disks through the admin API (000 §3.1–3.2)", function () {
  this.timeout(120_000);
  const w = new DiskWorld();
  before(() => w.start());
  after(() => w.stop());

  it("creates a disk creating, and available only when the gateway reports the image", async () => {
    const { disk } = await w.create({ name: "photos", sizeGb: 20, description: "holiday" });
    expect(disk!.status).to.equal(DiskStatus.CREATING);
    expect(disk!.rbdImageName).to.equal(`disk-${disk!.id}`);
    expect(disk!.rbdPool).to.equal("private-data-disks");
    expect(disk!.userId).to.equal(w.alice.userId);
    expect(disk!.tenantId).to.equal(w.tenantA.id);
    expect(disk!.shareMode).to.equal(DiskShareMode.EXCLUSIVE);
    expect(disk!.maxAttachments).to.equal(1);
    // No pass, no report: still creating.
    expect((await w.as(w.alice).getDisk({ id: disk!.id })).disk!.status).to.equal(DiskStatus.CREATING);
    const ready = await w.available(disk!.id);
    expect(ready.provisionedSizeGb).to.equal(20);
    expect(w.gateway.image("private-data-disks", `disk-${disk!.id}`)!.sizeBytes).to.equal(20n * GIB);
    const audit = await w.knex("audit_log").where({ target_id: disk!.id, action: "disk.create" }).first("id");
    expect(audit, "audit row").to.not.equal(undefined);
  });

  it("puts each disk type in the pool its mapping names", async () => {
    const { disk } = await w.create({ name: "fast", diskType: DiskType.SSD });
    expect(disk!.rbdPool).to.equal("private-data-disks-ssd");
    await w.available(disk!.id);
    expect(w.gateway.image("private-data-disks-ssd", `disk-${disk!.id}`)).to.not.equal(undefined);
  });

  it("refuses bad input with the field named, writing nothing", async () => {
    const before = await w.knex("private_data_disks").count({ n: "*" }).first();
    const cases: [Record<string, unknown>, string][] = [
      [{ diskType: DiskType.UNSPECIFIED }, "disk.disk_type"],
      [{ diskType: 99 }, "disk.disk_type"],
      [{ name: "" }, "disk.name"],
      [{ name: "../etc/passwd" }, "disk.name"],
      [{ name: "x".repeat(65) }, "disk.name"],
      [{ sizeGb: 0 }, "disk.size_gb"],
      [{ sizeGb: -5 }, "disk.size_gb"],
      [{ sizeGb: 10_000_000 }, "disk.size_gb"],
      [{ shareMode: DiskShareMode.EXCLUSIVE, maxAttachments: 3 }, "disk.max_attachments"],
      [{ shareMode: 7 }, "disk.share_mode"],
    ];
    for (const [over, field] of cases) {
      const err = await connectErrorOf(w.create(over));
      expect(err.code, JSON.stringify(over)).to.equal(Code.InvalidArgument);
      expect(violatedFields(err), JSON.stringify(over)).to.include(field);
    }
    const err = await connectErrorOf(w.as(w.alice).createDisk({}));
    expect(violatedFields(err)).to.include("disk");
    expect(await w.knex("private_data_disks").count({ n: "*" }).first()).to.deep.equal(before);
  });

  it("refuses a second live disk of the same name for one owner (already_exists), not for another owner", async () => {
    const { disk } = await w.create({ name: "Unique-1" });
    const err = await connectErrorOf(w.create({ name: "unique-1" }));
    expect(err.code).to.equal(Code.AlreadyExists);
    await w.create({ name: "unique-1" }, w.bob);
    await w.available(disk!.id);
  });

  it("a shared disk keeps its max_attachments", async () => {
    const { disk } = await w.create({ name: "class-share", shareMode: DiskShareMode.SHARED, maxAttachments: 30 });
    expect(disk!.shareMode).to.equal(DiskShareMode.SHARED);
    expect(disk!.maxAttachments).to.equal(30);
  });

  it("unknown ids are not_found; malformed ids invalid_argument", async () => {
    const missing = "01900000-0000-7000-8000-000000000000";
    for (const call of [
      w.as(w.alice).getDisk({ id: missing }),
      w.as(w.alice).deleteDisk({ id: missing }),
      w.as(w.alice).resizeDisk({ id: missing, sizeGb: 50 }),
      w.as(w.alice).updateDisk({ disk: { id: missing, name: "x" }, updateMask: { paths: ["name"] } }),
    ])
      expect((await connectErrorOf(call)).code).to.equal(Code.NotFound);
    const err = await connectErrorOf(w.as(w.alice).getDisk({ id: "nope" }));
    expect(err.code).to.equal(Code.InvalidArgument);
    expect(violatedFields(err)).to.include("id");
  });

  it("another user's disk answers not_found to a user and to another tenant; its tenant_admin and admins see it", async () => {
    const { disk } = await w.create({ name: "private" });
    for (const u of [w.bob, w.dave]) {
      expect((await connectErrorOf(w.as(u).getDisk({ id: disk!.id }))).code).to.equal(Code.NotFound);
      expect((await connectErrorOf(w.as(u).deleteDisk({ id: disk!.id }))).code).to.equal(Code.NotFound);
      expect((await connectErrorOf(w.as(u).resizeDisk({ id: disk!.id, sizeGb: 99 }))).code).to.equal(Code.NotFound);
    }
    expect((await w.as(w.carol).getDisk({ id: disk!.id })).disk!.id).to.equal(disk!.id);
    expect((await w.as("admin").getDisk({ id: disk!.id })).disk!.id).to.equal(disk!.id);
    // A user cannot create a disk for someone else; a tenant_admin can, in its tenant only.
    expect((await connectErrorOf(w.create({ name: "gift", userId: w.bob.userId }, w.alice))).code).to.equal(
      Code.NotFound,
    );
    const gift = await w.create({ name: "gift", userId: w.bob.userId }, w.carol);
    expect(gift.disk!.userId).to.equal(w.bob.userId);
    expect((await connectErrorOf(w.create({ name: "gift", userId: w.dave.userId }, w.carol))).code).to.equal(
      Code.NotFound,
    );
    // Admin-only methods are permission_denied for everyone else.
    const pd = await connectErrorOf(
      w.as(w.alice).updateDiskTypePool({ diskTypePool: { diskType: DiskType.SSD, poolName: "x" } }),
    );
    expect(pd.code).to.equal(Code.PermissionDenied);
    expect((await connectErrorOf(w.as(w.alice).listStoragePools({}))).code).to.equal(Code.PermissionDenied);
  });

  it("lists what the caller may see, filtered and paged", async () => {
    const mine = await w.as(w.alice).listDisks({});
    expect(mine.disks.every((d) => d.userId === w.alice.userId)).to.equal(true);
    // A user asking for someone else's disks still gets only its own.
    const asked = await w.as(w.alice).listDisks({ userId: w.bob.userId });
    expect(asked.disks.every((d) => d.userId === w.alice.userId)).to.equal(true);
    const ssd = await w.as("admin").listDisks({ diskType: DiskType.SSD });
    expect(ssd.disks.length).to.be.at.least(1);
    expect(ssd.disks.every((d) => d.diskType === DiskType.SSD)).to.equal(true);
    const creating = await w.as("admin").listDisks({ status: DiskStatus.CREATING });
    expect(creating.disks.every((d) => d.status === DiskStatus.CREATING)).to.equal(true);
    expect((await w.as(w.dave).listDisks({})).disks).to.deep.equal([]);
    expect((await connectErrorOf(w.as(w.dave).listDisks({ tenantId: w.tenantA.id }))).code).to.equal(Code.NotFound);
    const all = await w.as("admin").listDisks({ pageSize: 1000 });
    const walked = await walkPages(async (pageSize, pageToken) => {
      const r = await w.as("admin").listDisks({ pageSize, pageToken });
      return { items: r.disks, nextPageToken: r.nextPageToken };
    }, 2);
    expect(walked).to.deep.equal(all.disks.map((d) => d.id));
    expect((await connectErrorOf(w.as("admin").listDisks({ pageToken: "garbage" }))).code).to.equal(
      Code.InvalidArgument,
    );
  });

  it("updates name and description only, honouring the etag", async () => {
    const { disk } = await w.create({ name: "rename-me" });
    const r = await w.as(w.alice).updateDisk({
      disk: { id: disk!.id, name: "renamed", description: "new", sizeGb: 999 },
      updateMask: { paths: ["name", "description"] },
    });
    expect(r.disk!.name).to.equal("renamed");
    expect(r.disk!.description).to.equal("new");
    expect(r.disk!.sizeGb).to.equal(10);
    const stale = await connectErrorOf(
      w
        .as(w.alice)
        .updateDisk({ disk: { id: disk!.id, name: "again", etag: disk!.etag }, updateMask: { paths: ["name"] } }),
    );
    expect(stale.code).to.equal(Code.Aborted);
    const bad = await connectErrorOf(
      w.as(w.alice).updateDisk({ disk: { id: disk!.id, sizeGb: 50 }, updateMask: { paths: ["size_gb"] } }),
    );
    expect(bad.code).to.equal(Code.InvalidArgument);
    const badName = await connectErrorOf(
      w.as(w.alice).updateDisk({ disk: { id: disk!.id, name: "" }, updateMask: { paths: ["name"] } }),
    );
    expect(violatedFields(badName)).to.include("disk.name");
  });

  it("resizes online (grow only): the gateway grows the image, attached or not", async () => {
    const { disk } = await w.create({ name: "grow" });
    await w.available(disk!.id);
    const shrink = await connectErrorOf(w.as(w.alice).resizeDisk({ id: disk!.id, sizeGb: 5 }));
    expect(shrink.code).to.equal(Code.InvalidArgument);
    expect(violatedFields(shrink)).to.include("size_gb");
    const same = await connectErrorOf(w.as(w.alice).resizeDisk({ id: disk!.id, sizeGb: 10 }));
    expect(same.code).to.equal(Code.InvalidArgument);
    // Attached (the attach feature's status) does not stop a resize.
    await w.knex("private_data_disks").where({ id: disk!.id }).update({ status: "attached" });
    const r = await w.as(w.alice).resizeDisk({ id: disk!.id, sizeGb: 25 });
    expect(r.disk!.sizeGb).to.equal(25);
    expect(r.disk!.provisionedSizeGb).to.equal(10);
    const again = await connectErrorOf(w.as(w.alice).resizeDisk({ id: disk!.id, sizeGb: 30 }));
    expect(errorReasons(again)).to.include("DISK_OPERATION_IN_PROGRESS");
    const done = await w.converge(disk!.id, (d) => d.provisionedSizeGb === 25);
    expect(done.status).to.equal(DiskStatus.ATTACHED);
    expect(w.gateway.image("private-data-disks", `disk-${disk!.id}`)!.sizeBytes).to.equal(25n * GIB);
    await w.knex("private_data_disks").where({ id: disk!.id }).update({ status: "available" });
  });

  it("a resize the gateway refuses is undone with the reason; the disk stays usable", async () => {
    const { disk } = await w.create({ name: "grow-fails" });
    await w.available(disk!.id);
    await w.as(w.alice).resizeDisk({ id: disk!.id, sizeGb: 40 });
    const d = await w.converge(disk!.id, (x) => x.lastError !== "", "pool is read-only");
    expect(d.sizeGb).to.equal(10);
    expect(d.status).to.equal(DiskStatus.AVAILABLE);
    expect(d.lastError).to.match(/Resize of image .* to 40 GB failed: pool is read-only/);
  });

  it("deleting an attached disk is failed_precondition and changes nothing", async () => {
    const { disk } = await w.create({ name: "in-use" });
    await w.available(disk!.id);
    await w.knex("private_data_disks").where({ id: disk!.id }).update({ status: "attached" });
    const err = await connectErrorOf(w.as(w.alice).deleteDisk({ id: disk!.id }));
    expect(err.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(err)).to.include("DISK_ATTACHED");
    expect((await w.as(w.alice).getDisk({ id: disk!.id })).disk!.status).to.equal(DiskStatus.ATTACHED);
    await w.knex("private_data_disks").where({ id: disk!.id }).update({ status: "available" });
  });

  it("deletes: the image goes, then the record (soft delete); a creating disk cannot be deleted yet", async () => {
    const { disk } = await w.create({ name: "bye" });
    const early = await connectErrorOf(w.as(w.alice).deleteDisk({ id: disk!.id }));
    expect(early.code).to.equal(Code.FailedPrecondition);
    await w.available(disk!.id);
    const r = await w.as(w.alice).deleteDisk({ id: disk!.id });
    expect(r.disk!.status).to.equal(DiskStatus.DELETING);
    expect((await connectErrorOf(w.as(w.alice).deleteDisk({ id: disk!.id }))).code).to.equal(Code.FailedPrecondition);
    await w.converge(disk!.id, () => false).catch(() => undefined);
    expect((await connectErrorOf(w.as(w.alice).getDisk({ id: disk!.id }))).code).to.equal(Code.NotFound);
    expect(w.gateway.image("private-data-disks", `disk-${disk!.id}`)).to.equal(undefined);
    const row = await w.knex("private_data_disks").where({ id: disk!.id }).first("deleted_at");
    expect(row.deleted_at).to.not.equal(null);
    // The name is free again.
    await w.create({ name: "bye" });
  });

  it("a create the gateway fails ends in error with the gateway's reason; the error disk can be deleted", async () => {
    const { disk } = await w.create({ name: "doomed" });
    const d = await w.converge(disk!.id, (x) => x.status === DiskStatus.ERROR, "OSD full");
    expect(d.lastError).to.match(/Creation of image private-data-disks\/disk-.* failed: OSD full/);
    await w.as(w.alice).deleteDisk({ id: disk!.id });
    await w.converge(disk!.id, () => false).catch(() => undefined);
    expect((await connectErrorOf(w.as(w.alice).getDisk({ id: disk!.id }))).code).to.equal(Code.NotFound);
  });
});
