import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { ManualClock } from "../../lib/clock/clock.js";
import {
  Hypervisor,
  ImageArchitecture,
  ImageService,
  ImageStatus,
  ImageType,
  ImageVisibility,
  RequirementDimension,
} from "../../gen/edgehub/admin/v1/image_pb.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
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
      await people.user("ta-a", "tenant_admin", a),
      await people.user("alice", "user", a),
      await people.user("bob", "user", a),
      await people.user("carol", "user", b),
      await people.user("ta-b", "tenant_admin", b),
    ];
    await people.group(a.id, "designers", [taA, alice]);
    for (const u of [taA, alice, bob, carol, taB])
      tokens.set(u.username, await t.login(u.username, PASSWORD, u.tenantName));
    admin = t.client(ImageService, await t.adminToken());
  });
  after(async () => t?.stop());

  const fields = (over: Record<string, unknown> = {}) => ({
    name: "ubuntu-server",
    imageType: ImageType.OS_BASE,
    baseOs: "ubuntu",
    osVersion: "22.04",
    architecture: ImageArchitecture.X86_64,
    sizeGb: 12.5,
    visibility: ImageVisibility.PUBLIC,
    fileServerId: "fs-1",
    filePath: "/images/ubuntu-22.04.qcow2",
    checksumMd5: MD5,
    ...over,
  });
  /** A CreateImage request; `tenantId` and the image fields go into `image`. */
  const image = (over: Record<string, unknown> = {}) => ({ image: fields(over) });
  const typedAdmin = () => admin as ReturnType<typeof t.client<typeof ImageService>>;

  it("creates a platform image with requirements, readable by tenant users, with its audit row", async () => {
    const res = await typedAdmin().createImage({
      ...image(),
      requirements: {
        minCpuCores: 2,
        minMemoryGb: 4,
        minStorageGb: 20,
        recommendedCpuCores: 4,
        recommendedMemoryGb: 8,
        recommendedStorageGb: 50,
        hypervisorCompatibility: [Hypervisor.KVM],
      },
    });
    expect(res.image).to.include({
      name: "ubuntu-server",
      imageType: ImageType.OS_BASE,
      status: ImageStatus.ACTIVE,
      tenantId: "",
      sizeGb: 12.5,
    });
    expect(res.image!.etag).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(res.image!.createTime).to.not.equal(undefined);
    const seen = await as(alice).getImage({ id: res.image!.id });
    expect(seen.requirements).to.include({ minCpuCores: 2, recommendedMemoryGb: 8 });
    expect(seen.requirements!.hypervisorCompatibility).to.deep.equal([Hypervisor.KVM]);
    expect(seen.image!.etag).to.equal(res.image!.etag);
    const audit = await t.hub.db.knex("audit_log").where({ action: "image.create", target_id: res.image!.id }).first();
    expect(audit.actor_username).to.equal("admin");
  });

  it("rejects bad input naming the field and writes nothing", async () => {
    const before = await counts(t.hub.db.knex, ["images", "image_requirements", "audit_log"]);
    const cases: [Record<string, unknown>, string][] = [
      [{ image: fields({ imageType: ImageType.UNSPECIFIED }) }, "image.image_type"],
      [{ image: fields({ imageType: 99 }) }, "image.image_type"],
      [{ image: fields({ name: "ubuntu:22" }) }, "image.name"],
      [{ image: fields({ name: "" }) }, "image.name"],
      [{ image: fields({ architecture: 7 }) }, "image.architecture"],
      [{ image: fields({ visibility: 9 }) }, "image.visibility"],
      [{ image: fields({ checksumMd5: "xyz" }) }, "image.checksum_md5"],
      [{ image: fields({ sizeGb: -1 }) }, "image.size_gb"],
      [{ image: fields({ tenantId: "not-a-uuid" }) }, "image.tenant_id"],
      [
        { image: fields({ name: "other" }), requirements: { minCpuCores: 4, recommendedCpuCores: 2 } },
        "requirements.recommended_cpu_cores",
      ],
      [
        { image: fields({ name: "other" }), requirements: { hypervisorCompatibility: [Hypervisor.KVM, 42] } },
        "requirements.hypervisor_compatibility[1]",
      ],
    ];
    for (const [req, field] of cases) {
      const err = await failure(typedAdmin().createImage({ image: fields({ name: "bad-image" }), ...req }));
      expect(err.code, field).to.equal(Code.InvalidArgument);
      expect(err.rawMessage, field).to.contain(`Invalid ${field}`);
      expect(violatedFields(err), field).to.deep.equal([field]);
    }
    expect(await counts(t.hub.db.knex, ["images", "image_requirements", "audit_log"])).to.deep.equal(before);
  });

  it("refuses a second live image of the same name in the same scope", async () => {
    expect((await failure(typedAdmin().createImage(image({ name: "Ubuntu-Server" })))).code).to.equal(
      Code.AlreadyExists,
    );
  });

  it("lets a tenant_admin create images only in its own tenant; other tenants get not_found; users cannot create", async () => {
    const err = await failure(
      as(taA).createImage(image({ name: "a-custom", imageType: ImageType.CUSTOM, tenantId: taB.tenantId })),
    );
    expect(err.code).to.equal(Code.PermissionDenied);
    const own = await as(taA).createImage(
      image({ name: "a-custom", imageType: ImageType.CUSTOM, visibility: ImageVisibility.PUBLIC }),
    );
    expect(own.image!.tenantId).to.equal(taA.tenantId);
    expect((await failure(as(carol).getImage({ id: own.image!.id }))).code).to.equal(Code.NotFound);
    expect(
      (
        await failure(
          as(taB).updateImage({
            image: { id: own.image!.id, description: "mine now" },
            updateMask: { paths: ["description"] },
          }),
        )
      ).code,
    ).to.equal(Code.NotFound);
    expect((await failure(as(alice).createImage(image({ name: "alice-img" })))).code).to.equal(Code.PermissionDenied);
    expect(
      (
        await failure(
          as(alice).updateImage({
            image: { id: own.image!.id, description: "x" },
            updateMask: { paths: ["description"] },
          }),
        )
      ).code,
    ).to.equal(Code.PermissionDenied);
    // A tenant_admin cannot change platform images either.
    const platform = (await typedAdmin().listImages({ imageType: ImageType.OS_BASE })).images[0]!;
    expect(
      (
        await failure(
          as(taA).updateImage({ image: { id: platform.id, description: "x" }, updateMask: { paths: ["description"] } }),
        )
      ).code,
    ).to.equal(Code.PermissionDenied);
    // Filtering a list by another tenant is not_found too, as in the identity API.
    expect((await failure(as(carol).listImages({ tenantId: taA.tenantId! }))).code).to.equal(Code.NotFound);
    expect((await as(taA).listImages({ tenantId: taA.tenantId! })).images.map((i) => i.name)).to.deep.equal([
      "a-custom",
    ]);
    // A malformed id is invalid_argument naming the field; a well-formed unknown one is not_found.
    const malformed = await failure(as(alice).getImage({ id: "not-a-uuid" }));
    expect(malformed.code).to.equal(Code.InvalidArgument);
    expect(violatedFields(malformed)).to.deep.equal(["id"]);
    expect((await failure(as(alice).getImage({ id: "0190f3c8-0000-7000-8000-000000000000" }))).code).to.equal(
      Code.NotFound,
    );
    expect((await failure(as(alice).listImages({ tenantId: "tenant-a" }))).code).to.equal(Code.InvalidArgument);
  });

  it("shows private images to the owner's tenant_admin only and group_specific ones to the owner's group", async () => {
    const priv = await as(taA).createImage(
      image({ name: "a-private", imageType: ImageType.CUSTOM, visibility: ImageVisibility.PRIVATE }),
    );
    const group = await as(taA).createImage(
      image({ name: "a-group", imageType: ImageType.CUSTOM, visibility: ImageVisibility.GROUP_SPECIFIC }),
    );
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
    const priv = (await as(taA).listImages({ visibility: ImageVisibility.PRIVATE })).images[0]!;
    expect((await opApi.getImage({ id: priv.id })).image!.name).to.equal("a-private");
    expect((await opApi.getImageVersionUsage({ imageId: priv.id })).versions).to.deep.equal([]);
    expect((await failure(opApi.createImage(image({ name: "op-image" })))).code).to.equal(Code.PermissionDenied);
    expect((await failure(opApi.deprecateImage({ id: priv.id }))).code).to.equal(Code.PermissionDenied);
    expect((await failure(as(alice).getImageVersionUsage({ imageId: priv.id }))).code).to.equal(Code.PermissionDenied);
    expect(op.role).to.equal("operator");
  });

  it("filters by type, os, visibility and status, and paginates without gaps or repeats", async () => {
    await typedAdmin().createImage(
      image({ name: "centos-apps", imageType: ImageType.APPLICATION_LAYER, baseOs: "centos", osVersion: "8" }),
    );
    await typedAdmin().createImage(image({ name: "old-ubuntu", baseOs: "ubuntu" }));
    const old = (await typedAdmin().listImages({ baseOs: "ubuntu" })).images.find((i) => i.name === "old-ubuntu")!;
    await typedAdmin().deprecateImage({ id: old.id });
    expect(
      (await typedAdmin().listImages({ imageType: ImageType.APPLICATION_LAYER })).images.map((i) => i.name),
    ).to.deep.equal(["centos-apps"]);
    expect(
      (
        await typedAdmin().listImages({ imageType: ImageType.OS_BASE, baseOs: "UBUNTU", status: ImageStatus.ACTIVE })
      ).images.map((i) => i.name),
    ).to.deep.equal(["ubuntu-server"]);
    expect((await typedAdmin().listImages({ status: ImageStatus.DEPRECATED })).images.map((i) => i.name)).to.deep.equal(
      ["old-ubuntu"],
    );
    expect(
      (await typedAdmin().listImages({ visibility: ImageVisibility.GROUP_SPECIFIC })).images.map((i) => i.name),
    ).to.deep.equal(["a-group"]);
    const seen: string[] = [];
    let token = "";
    do {
      const page = await typedAdmin().listImages({ pageSize: 2, pageToken: token });
      expect(page.images.length).to.be.at.most(2);
      seen.push(...page.images.map((i) => i.name));
      token = page.nextPageToken;
    } while (token);
    expect(seen.length).to.equal(new Set(seen).size);
    expect(seen.sort()).to.deep.equal([
      "a-custom",
      "a-group",
      "a-private",
      "centos-apps",
      "old-ubuntu",
      "ubuntu-server",
    ]);
    expect(
      (await typedAdmin().listImages({ pageSize: 5000 })).images.length,
      "page_size above 1000 is clamped, not refused",
    ).to.equal(6);
    expect(violatedFields(await failure(typedAdmin().listImages({ pageSize: -1 })))).to.deep.equal(["page_size"]);
    expect(violatedFields(await failure(typedAdmin().listImages({ pageToken: "forged" })))).to.deep.equal([
      "page_token",
    ]);
    expect((await failure(typedAdmin().listImages({ status: 42 as ImageStatus }))).rawMessage).to.contain(
      "Invalid status",
    );
  });

  it("validates requirements on set and checks a spec against them with every short dimension named", async () => {
    const img = (
      await typedAdmin().createImage(image({ name: "win-desktop", baseOs: "windows_server", osVersion: "2022" }))
    ).image!;
    const err = await failure(
      typedAdmin().setImageRequirements({ imageId: img.id, requirements: { minMemoryGb: 8, recommendedMemoryGb: 4 } }),
    );
    expect(err.code).to.equal(Code.InvalidArgument);
    expect(err.rawMessage).to.equal("Invalid requirements.recommended_memory_gb: 4 is below min_memory_gb 8");
    expect(violatedFields(err)).to.deep.equal(["requirements.recommended_memory_gb"]);
    await typedAdmin().setImageRequirements({
      imageId: img.id,
      requirements: {
        minCpuCores: 2,
        minMemoryGb: 8,
        minStorageGb: 60,
        recommendedCpuCores: 4,
        recommendedMemoryGb: 16,
        recommendedStorageGb: 100,
        hypervisorCompatibility: [Hypervisor.KVM],
      },
    });
    const v = (await typedAdmin().publishImageVersion({ imageId: img.id, versionNumber: "v1.0.0" })).version!;
    // The verdict is a result, not an error: every short dimension with its minimum and recommended value.
    const short = await as(alice).checkImageRequirements({
      imageVersionId: v.id,
      cpuCores: 1,
      memoryGb: 8,
      storageGb: 40,
      hypervisor: Hypervisor.VMWARE,
      newInstance: true,
    });
    expect(short.met).to.equal(false);
    expect(short.shortfalls.map((s) => [s.dimension, s.requested, s.minimum, s.recommended])).to.deep.equal([
      [RequirementDimension.CPU_CORES, 1, 2, 4],
      [RequirementDimension.STORAGE_GB, 40, 60, 100],
      [RequirementDimension.HYPERVISOR, 0, 0, 0],
    ]);
    expect(short.shortfalls[2]).to.deep.include({
      requestedHypervisor: Hypervisor.VMWARE,
      supportedHypervisors: [Hypervisor.KVM],
    });
    const ok = await as(alice).checkImageRequirements({
      imageVersionId: v.id,
      cpuCores: 2,
      memoryGb: 8,
      storageGb: 60,
      newInstance: true,
    });
    expect(ok.met).to.equal(true);
    expect(ok.shortfalls).to.deep.equal([]);
    expect(ok.requirements!.recommendedStorageGb).to.equal(100);
    expect(violatedFields(await failure(as(alice).checkImageRequirements({ imageVersionId: "v1.0.0" })))).to.deep.equal(
      ["image_version_id"],
    );
    expect(
      (await failure(as(alice).checkImageRequirements({ imageVersionId: "0190f3c8-0000-7000-8000-000000000000" })))
        .code,
    ).to.equal(Code.NotFound);
  });
});
