import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { ManualClock } from "../../lib/clock/clock.js";
import { ImageService } from "../../gen/edgehub/admin/v1/image_pb.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD, counts, failure, type TestUser } from "./catalog-fixtures.js";

const MD5 = "0123456789abcdef0123456789abcdef";

describe("ImageService: images, visibility, tenants, requirements", function () {
  let t: TestHub;
  let admin: ReturnType<TestHub["client"]>;
  const tokens = new Map<string, string>();
  let taA: TestUser, alice: TestUser, bob: TestUser, carol: TestUser, taB: TestUser;
  const as = (u: TestUser) => t.client(ImageService, tokens.get(u.username)!);

  before(async () => {
    t = await startTestHub({ clock: new ManualClock() });
    const people = new CatalogPeople(t.hub.db.knex);
    const a = await people.tenant("tenant-a");
    const b = await people.tenant("tenant-b");
    [taA, alice, bob, carol, taB] = [
      await people.user("ta-a", "tenant_admin", a), await people.user("alice", "user", a), await people.user("bob", "user", a),
      await people.user("carol", "user", b), await people.user("ta-b", "tenant_admin", b),
    ];
    await people.group(a.id, "designers", [taA, alice]);
    for (const u of [taA, alice, bob, carol, taB]) tokens.set(u.username, await t.login(u.username, PASSWORD, u.tenantName));
    admin = t.client(ImageService, await t.adminToken());
  });
  after(async () => t?.stop());

  const image = (over: Record<string, unknown> = {}) => ({
    name: "ubuntu-server", imageType: "os_base", baseOs: "ubuntu", osVersion: "22.04", architecture: "x86_64", sizeGb: 12.5,
    visibility: "public", fileServerId: "fs-1", filePath: "/images/ubuntu-22.04.qcow2", checksumMd5: MD5, ...over,
  });
  const typedAdmin = () => admin as ReturnType<typeof t.client<typeof ImageService>>;

  it("creates a platform image with requirements, readable by tenant users, with its audit row", async () => {
    const res = await typedAdmin().createImage({ ...image(), requirements: { minCpuCores: 2, minMemoryGb: 4, minStorageGb: 20, recommendedCpuCores: 4, recommendedMemoryGb: 8, recommendedStorageGb: 50, hypervisorCompatibility: ["kvm"] } });
    expect(res.image).to.include({ name: "ubuntu-server", imageType: "os_base", status: "active", tenantId: "", sizeGb: 12.5 });
    const seen = await as(alice).getImage({ id: res.image!.id });
    expect(seen.requirements).to.include({ minCpuCores: 2, recommendedMemoryGb: 8 });
    expect(seen.requirements!.hypervisorCompatibility).to.deep.equal(["kvm"]);
    const audit = await t.hub.db.knex("audit_log").where({ action: "image.create", target_id: res.image!.id }).first();
    expect(audit.actor_username).to.equal("admin");
  });

  it("rejects bad input naming the field and writes nothing", async () => {
    const before = await counts(t.hub.db.knex, ["images", "image_requirements", "audit_log"]);
    const cases: [Record<string, unknown>, string][] = [
      [{ imageType: "vm" }, "image_type"],
      [{ name: "ubuntu:22" }, "name"],
      [{ name: "" }, "name"],
      [{ architecture: "sparc" }, "architecture"],
      [{ visibility: "everyone" }, "visibility"],
      [{ checksumMd5: "xyz" }, "checksum_md5"],
      [{ sizeGb: -1 }, "size_gb"],
      [{ name: "other", requirements: { minCpuCores: 4, recommendedCpuCores: 2 } }, "recommended_cpu_cores"],
    ];
    for (const [over, field] of cases) {
      const err = await failure(typedAdmin().createImage(image({ name: "bad-image", ...over })));
      expect(err.code, field).to.equal(Code.InvalidArgument);
      expect(err.rawMessage, field).to.contain(`Invalid ${field}`);
    }
    expect(await counts(t.hub.db.knex, ["images", "image_requirements", "audit_log"])).to.deep.equal(before);
  });

  it("refuses a second live image of the same name in the same scope", async () => {
    expect((await failure(typedAdmin().createImage(image({ name: "Ubuntu-Server" })))).code).to.equal(Code.AlreadyExists);
  });

  it("lets a tenant_admin create images only in its own tenant; other tenants get not_found; users cannot create", async () => {
    const err = await failure(as(taA).createImage(image({ name: "a-custom", imageType: "custom", tenantId: taB.tenantId })));
    expect(err.code).to.equal(Code.PermissionDenied);
    const own = await as(taA).createImage(image({ name: "a-custom", imageType: "custom", visibility: "public" }));
    expect(own.image!.tenantId).to.equal(taA.tenantId);
    expect((await failure(as(carol).getImage({ id: own.image!.id }))).code).to.equal(Code.NotFound);
    expect((await failure(as(taB).updateImage({ id: own.image!.id, description: "mine now" }))).code).to.equal(Code.NotFound);
    expect((await failure(as(alice).createImage(image({ name: "alice-img" })))).code).to.equal(Code.PermissionDenied);
    expect((await failure(as(alice).updateImage({ id: own.image!.id, description: "x" }))).code).to.equal(Code.PermissionDenied);
    // A tenant_admin cannot change platform images either.
    const platform = (await typedAdmin().listImages({ imageType: "os_base" })).images[0]!;
    expect((await failure(as(taA).updateImage({ id: platform.id, description: "x" }))).code).to.equal(Code.PermissionDenied);
    // Filtering a list by another tenant is not_found too, as in the identity API.
    expect((await failure(as(carol).listImages({ tenantId: taA.tenantId! }))).code).to.equal(Code.NotFound);
    expect((await as(taA).listImages({ tenantId: taA.tenantId! })).images.map((i) => i.name)).to.deep.equal(["a-custom"]);
    // And a malformed id is not_found, not a database error.
    expect((await failure(as(alice).getImage({ id: "not-a-uuid" }))).code).to.equal(Code.NotFound);
  });

  it("shows private images to the owner's tenant_admin only and group_specific ones to the owner's group", async () => {
    const priv = await as(taA).createImage(image({ name: "a-private", imageType: "custom", visibility: "private" }));
    const group = await as(taA).createImage(image({ name: "a-group", imageType: "custom", visibility: "group_specific" }));
    expect((await failure(as(alice).getImage({ id: priv.image!.id }))).code).to.equal(Code.NotFound);
    expect((await as(alice).getImage({ id: group.image!.id })).image!.name).to.equal("a-group");
    expect((await failure(as(bob).getImage({ id: group.image!.id }))).code).to.equal(Code.NotFound);
    const bobSees = (await as(bob).listImages({})).images.map((i) => i.name).sort();
    expect(bobSees).to.deep.equal(["a-custom", "ubuntu-server"]);
    const carolSees = (await as(carol).listImages({})).images.map((i) => i.name);
    expect(carolSees).to.deep.equal(["ubuntu-server"]);
  });

  it("lets an operator read every image and its usage but change none", async () => {
    const people = new CatalogPeople(t.hub.db.knex);
    const op = await people.user("op", "operator", null);
    const opApi = t.client(ImageService, await t.login("op", PASSWORD));
    const priv = (await as(taA).listImages({ visibility: "private" })).images[0]!;
    expect((await opApi.getImage({ id: priv.id })).image!.name).to.equal("a-private");
    expect((await opApi.getImageVersionUsage({ imageId: priv.id })).versions).to.deep.equal([]);
    expect((await failure(opApi.createImage(image({ name: "op-image" })))).code).to.equal(Code.PermissionDenied);
    expect((await failure(opApi.setImageStatus({ id: priv.id, status: "deprecated" }))).code).to.equal(Code.PermissionDenied);
    expect((await failure(as(alice).getImageVersionUsage({ imageId: priv.id }))).code).to.equal(Code.PermissionDenied);
    expect(op.role).to.equal("operator");
  });

  it("filters by type, os, visibility and status, and paginates without gaps or repeats", async () => {
    await typedAdmin().createImage(image({ name: "centos-apps", imageType: "application_layer", baseOs: "centos", osVersion: "8" }));
    await typedAdmin().createImage(image({ name: "old-ubuntu", baseOs: "ubuntu" }));
    const old = (await typedAdmin().listImages({ baseOs: "ubuntu" })).images.find((i) => i.name === "old-ubuntu")!;
    await typedAdmin().setImageStatus({ id: old.id, status: "deprecated" });
    expect((await typedAdmin().listImages({ imageType: "application_layer" })).images.map((i) => i.name)).to.deep.equal(["centos-apps"]);
    expect((await typedAdmin().listImages({ imageType: "os_base", baseOs: "UBUNTU", status: "active" })).images.map((i) => i.name)).to.deep.equal(["ubuntu-server"]);
    expect((await typedAdmin().listImages({ status: "deprecated" })).images.map((i) => i.name)).to.deep.equal(["old-ubuntu"]);
    expect((await typedAdmin().listImages({ visibility: "group_specific" })).images.map((i) => i.name)).to.deep.equal(["a-group"]);
    const seen: string[] = [];
    let token = "";
    do {
      const page = await typedAdmin().listImages({ pageSize: 2, pageToken: token });
      expect(page.images.length).to.be.at.most(2);
      seen.push(...page.images.map((i) => i.name));
      token = page.nextPageToken;
    } while (token);
    expect(seen.length).to.equal(new Set(seen).size);
    expect(seen.sort()).to.deep.equal(["a-custom", "a-group", "a-private", "centos-apps", "old-ubuntu", "ubuntu-server"]);
    expect((await failure(typedAdmin().listImages({ pageSize: 501 }))).rawMessage).to.contain("page_size");
    expect((await failure(typedAdmin().listImages({ status: "gone" }))).rawMessage).to.contain("Invalid status");
  });

  it("validates requirements on set and checks a spec against them with every short dimension named", async () => {
    const img = (await typedAdmin().createImage(image({ name: "win-desktop", baseOs: "windows_server", osVersion: "2022" }))).image!;
    const err = await failure(typedAdmin().setImageRequirements({ imageId: img.id, requirements: { minMemoryGb: 8, recommendedMemoryGb: 4 } }));
    expect(err.code).to.equal(Code.InvalidArgument);
    expect(err.rawMessage).to.equal("Invalid recommended_memory_gb: 4 is below min_memory_gb 8");
    await typedAdmin().setImageRequirements({ imageId: img.id, requirements: { minCpuCores: 2, minMemoryGb: 8, minStorageGb: 60, recommendedCpuCores: 4, recommendedMemoryGb: 16, recommendedStorageGb: 100 } });
    const v = (await typedAdmin().publishImageVersion({ imageId: img.id, versionNumber: "v1.0.0" })).version!;
    const short = await failure(as(alice).checkImageRequirements({ imageVersionId: v.id, cpuCores: 1, memoryGb: 8, storageGb: 40, newInstance: true }));
    expect(short.code).to.equal(Code.FailedPrecondition);
    expect(short.rawMessage).to.equal("Cannot use image win-desktop v1.0.0: cpu_cores 1 is below the minimum 2 (recommended 4); storage_gb 40 is below the minimum 60 (recommended 100)");
    const ok = await as(alice).checkImageRequirements({ imageVersionId: v.id, cpuCores: 2, memoryGb: 8, storageGb: 60, newInstance: true });
    expect(ok.requirements!.recommendedStorageGb).to.equal(100);
  });
});
