import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { ManualClock } from "../../lib/clock/clock.js";
import {
  ImageService,
  ImageTagKind,
  ImageType,
  ImageVersionStatus,
  ImageVisibility,
} from "../../gen/edgehub/admin/v1/image_pb.js";
import { errorReasons } from "../support/api-conventions.js";
import { recordImageVersionUse, releaseImageVersionUse } from "../../hub/catalog/image-version-usage.js";
import { newId } from "../../hub/db/ids.js";
import { startTestHub, TEST_ADMIN_PASSWORD, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD, counts, failure } from "./catalog-fixtures.js";

const DAY = 24 * 3600 * 1000;

describe("ImageService: versions, tags and the operations of 000 §6.4.3", function () {
  let t: TestHub;
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 8, 0, 0));
  let api: ReturnType<typeof t.client<typeof ImageService>>;
  let userApi: ReturnType<typeof t.client<typeof ImageService>>;
  let imageId: string;
  const v: Record<string, string> = {};

  before(async () => {
    t = await startTestHub({ clock });
    api = t.client(ImageService, await t.adminToken());
    const people = new CatalogPeople(t.hub.db.knex);
    const tenant = await people.tenant("tenant-a");
    await people.user("alice", "user", tenant);
    userApi = t.client(ImageService, await t.login("alice", PASSWORD, "tenant-a"));
    imageId = (
      await api.createImage({
        image: {
          name: "ubuntu-server",
          imageType: ImageType.OS_BASE,
          baseOs: "ubuntu",
          osVersion: "22.04",
          visibility: ImageVisibility.PUBLIC,
        },
      })
    ).image!.id;
  });
  after(async () => t?.stop());

  const resolve = async (ref: string) => (await userApi.resolveImage({ reference: ref })).version!.versionNumber;

  it("publishes versions: the first becomes latest and default, each gets its immutable version tag", async () => {
    const first = (
      await api.publishImageVersion({ imageId, versionNumber: "v1.0.0", versionName: "Ubuntu 22.04 base" })
    ).version!;
    v["v1.0.0"] = first.id;
    expect(first).to.include({ isLatest: true, isDefault: true, status: ImageVersionStatus.ACTIVE });
    expect(first.tags).to.deep.equal(["latest", "v1.0.0"]);
    for (const n of ["v1.1.0", "v1.2.0", "v2.0.0"]) {
      v[n] = (
        await api.publishImageVersion({
          imageId,
          versionNumber: n,
          parentVersionId: v["v1.0.0"]!,
          makeLatest: n === "v2.0.0",
        })
      ).version!.id;
    }
    const tags = (await api.listImageTags({ imageId })).tags.map(
      (x) => `${x.tagName}→${x.versionNumber}:${ImageTagKind[x.kind].toLowerCase()}${x.immutable ? ":immutable" : ""}`,
    );
    expect(tags).to.deep.equal([
      "latest→v2.0.0:system",
      "v1.0.0→v1.0.0:version:immutable",
      "v1.1.0→v1.1.0:version:immutable",
      "v1.2.0→v1.2.0:version:immutable",
      "v2.0.0→v2.0.0:version:immutable",
    ]);
    const list = (await api.listImageVersions({ imageId })).versions;
    expect(list.map((x) => x.versionNumber)).to.deep.equal(["v2.0.0", "v1.2.0", "v1.1.0", "v1.0.0"]);
    expect(list.filter((x) => x.isLatest).map((x) => x.versionNumber)).to.deep.equal(["v2.0.0"]);
    expect(list.filter((x) => x.isDefault).map((x) => x.versionNumber)).to.deep.equal(["v1.0.0"]);
  });

  it("validates version numbers precisely and refuses duplicates and foreign parents, writing nothing", async () => {
    const before = await counts(t.hub.db.knex, ["image_versions", "image_tags", "audit_log"]);
    for (const [n, why] of [
      ["1.3.0", `must start with "v"`],
      ["v1.3", "three non-negative integers"],
      ["v1.03.0", "leading zero"],
      ["v1.3.0 ", "three non-negative integers"],
    ]) {
      const err = await failure(api.publishImageVersion({ imageId, versionNumber: n! }));
      expect(err.code).to.equal(Code.InvalidArgument);
      expect(err.rawMessage).to.contain("Invalid version_number").and.contain(why);
    }
    const dup = await failure(api.publishImageVersion({ imageId, versionNumber: "v1.1.0" }));
    expect(dup.code).to.equal(Code.AlreadyExists);
    expect(dup.rawMessage).to.contain("already has version v1.1.0");
    const other = (
      await api.createImage({
        image: { name: "centos", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
      })
    ).image!.id;
    const otherV = (await api.publishImageVersion({ imageId: other, versionNumber: "v1.0.0" })).version!.id;
    const before2 = await counts(t.hub.db.knex, ["image_versions", "image_tags"]);
    const parent = await failure(
      api.publishImageVersion({ imageId, versionNumber: "v3.0.0", parentVersionId: otherV }),
    );
    expect(parent.rawMessage).to.contain("Invalid parent_version_id");
    expect(await counts(t.hub.db.knex, ["image_versions", "image_tags"])).to.deep.equal(before2);
    expect(before.image_versions).to.equal(4);
    // No number: the patch after the highest version (000 §6.4.3 "自动递增版本号").
    const auto = (await api.publishImageVersion({ imageId: other })).version!;
    expect(auto.versionNumber).to.equal("v1.0.1");
  });

  it("sets system and custom tags and resolves name:tag as in the 000 §6.4.2 example", async () => {
    await api.setImageTag({ imageId, tagName: "stable", versionId: v["v1.1.0"]! });
    await api.setImageTag({ imageId, tagName: "production", versionId: v["v2.0.0"]! });
    await api.setImageTag({ imageId, tagName: "golden-image", versionId: v["v1.2.0"]! });
    await api.deprecateImageVersion({ id: v["v1.0.0"]! });
    expect(await resolve("ubuntu-server:latest")).to.equal("v2.0.0");
    expect(await resolve("ubuntu-server")).to.equal("v2.0.0");
    expect(await resolve("ubuntu-server:stable")).to.equal("v1.1.0");
    expect(await resolve("ubuntu-server:v1.2.0")).to.equal("v1.2.0");
    expect(await resolve("ubuntu-server:production")).to.equal("v2.0.0");
    expect((await failure(userApi.resolveImage({ reference: "ubuntu-server:nightly" }))).code).to.equal(Code.NotFound);
    expect((await failure(userApi.resolveImage({ reference: "ubuntu-server:" }))).rawMessage).to.contain(
      "Invalid reference",
    );
    // Re-pointing a mutable tag moves it.
    await api.setImageTag({ imageId, tagName: "golden-image", versionId: v["v1.1.0"]! });
    expect(await resolve("ubuntu-server:golden-image")).to.equal("v1.1.0");
  });

  it("refuses re-pointing or deleting an immutable version tag, and bad tag names, precisely", async () => {
    const repoint = await failure(api.setImageTag({ imageId, tagName: "v1.1.0", versionId: v["v2.0.0"]! }));
    expect(repoint.code).to.equal(Code.FailedPrecondition);
    expect(repoint.rawMessage).to.equal("Cannot re-point tag v1.1.0: version tags are immutable");
    expect(errorReasons(repoint)).to.deep.equal(["TAG_IMMUTABLE"]);
    expect((await failure(api.deleteImageTag({ imageId, tagName: "v1.1.0" }))).rawMessage).to.equal(
      "Cannot delete tag v1.1.0: version tags are immutable",
    );
    const invent = await failure(api.setImageTag({ imageId, tagName: "v9.9.9", versionId: v["v2.0.0"]! }));
    expect(invent.code).to.equal(Code.InvalidArgument);
    expect(invent.rawMessage).to.contain("version tags are created by publishing");
    const upper = await failure(api.setImageTag({ imageId, tagName: "Production", versionId: v["v2.0.0"]! }));
    expect(upper.rawMessage).to.contain("Invalid tag_name").and.contain("lower-case");
    expect(await resolve("ubuntu-server:v1.1.0")).to.equal("v1.1.0");
    expect((await failure(userApi.setImageTag({ imageId, tagName: "mine", versionId: v["v2.0.0"]! }))).code).to.equal(
      Code.PermissionDenied,
    );
  });

  it("deprecating a version drops its mutable tags, keeps its version tag and refuses new instances", async () => {
    const res = await api.deprecateImageVersion({ id: v["v1.1.0"]! });
    expect(res.removedTags).to.deep.equal(["golden-image", "stable"]);
    expect(res.version).to.include({ status: ImageVersionStatus.DEPRECATED });
    expect(res.version!.deprecateTime).to.not.equal(undefined);
    expect(res.version!.tags).to.deep.equal(["v1.1.0"]);
    expect(await resolve("ubuntu-server:v1.1.0")).to.equal("v1.1.0");
    expect((await failure(userApi.resolveImage({ reference: "ubuntu-server:stable" }))).code).to.equal(Code.NotFound);
    const create = await failure(
      userApi.checkImageRequirements({
        imageVersionId: v["v1.1.0"]!,
        cpuCores: 4,
        memoryGb: 8,
        storageGb: 50,
        newInstance: true,
      }),
    );
    expect(create.code).to.equal(Code.FailedPrecondition);
    expect(create.rawMessage).to.contain("the version is deprecated");
    expect(errorReasons(create)).to.deep.equal(["VERSION_NOT_ACTIVE"]);
    // Running instances may keep it (a resize is not a new instance).
    await userApi.checkImageRequirements({
      imageVersionId: v["v1.1.0"]!,
      cpuCores: 4,
      memoryGb: 8,
      storageGb: 50,
      newInstance: false,
    });
    await t.hub.db.knex.transaction(async (trx) => {
      const err = await recordImageVersionUse(trx, {
        instanceId: newId(),
        imageVersionId: v["v1.1.0"]!,
        now: clock.now(),
      }).catch((e: Error) => e);
      expect(err).to.be.instanceOf(Error).with.property("message").that.contains("the version is deprecated");
    });
    expect(
      (await failure(api.setImageTag({ imageId, tagName: "stable", versionId: v["v1.1.0"]! }))).rawMessage,
    ).to.contain("the version is deprecated");
  });

  it("rolls back: latest moves to the older version and the version it left is deprecated", async () => {
    const newer = await failure(api.rollbackImage({ imageId, toVersionId: v["v2.0.0"]! }));
    expect(newer.rawMessage).to.contain("not older than the current latest v2.0.0");
    expect(errorReasons(newer)).to.deep.equal(["ROLLBACK_TARGET_NOT_OLDER"]);
    const res = await api.rollbackImage({ imageId, toVersionId: v["v1.2.0"]! });
    expect(res.latest).to.include({ versionNumber: "v1.2.0", isLatest: true });
    expect(res.deprecated).to.include({
      versionNumber: "v2.0.0",
      status: ImageVersionStatus.DEPRECATED,
      isLatest: false,
    });
    expect(res.deprecated!.tags).to.deep.equal(["v2.0.0"]);
    expect(await resolve("ubuntu-server:latest")).to.equal("v1.2.0");
    const audit = await t.hub.db.knex("audit_log").where({ action: "image.rollback", target_id: imageId }).first();
    expect(audit.after).to.deep.equal({ latest: "v1.2.0", deprecated: "v2.0.0" });
  });

  it("counts instances per version from the usage hook", async () => {
    const knex = t.hub.db.knex;
    const instances = [newId(), newId(), newId()];
    await knex.transaction(async (trx) => {
      await recordImageVersionUse(trx, {
        instanceId: instances[0]!,
        imageVersionId: v["v1.2.0"]!,
        tagUsed: "latest",
        now: clock.now(),
      });
      await recordImageVersionUse(trx, { instanceId: instances[1]!, imageVersionId: v["v1.2.0"]!, now: clock.now() });
    });
    // v1.0.0 was used before it was deprecated (written directly, as the instance issue would have).
    await knex("image_version_usage").insert({
      instance_id: instances[2],
      image_version_id: v["v1.0.0"],
      image_id: imageId,
    });
    const usage = (await api.getImageVersionUsage({ imageId })).versions.map(
      (u) => `${u.versionNumber}:${u.instanceCount}`,
    );
    expect(usage).to.deep.equal(["v2.0.0:0", "v1.2.0:2", "v1.1.0:0", "v1.0.0:1"]);
    await knex.transaction((trx) => releaseImageVersionUse(trx, instances[1]!));
    expect(
      (await api.getImageVersionUsage({ imageId })).versions.find((u) => u.versionNumber === "v1.2.0")!.instanceCount,
    ).to.equal(1);
  });

  it("archives only a deprecated version that no instance uses, 6 months after deprecation, keeping its metadata", async () => {
    const active = await failure(api.archiveImageVersion({ id: v["v1.2.0"]! }));
    expect(active.code).to.equal(Code.FailedPrecondition);
    expect(active.rawMessage).to.contain("only a deprecated version can be archived");
    expect(errorReasons(active)).to.deep.equal(["VERSION_NOT_DEPRECATED"]);
    // v2.0.0 was deprecated by the rollback "today" and nothing uses it: still 6 months too soon.
    const tooSoon = await failure(api.archiveImageVersion({ id: v["v2.0.0"]! }));
    expect(tooSoon.rawMessage).to.match(
      /deprecated at 2026-01-15T08:00:00.000Z, it can be archived from 2026-07-15T08:00:00.000Z/,
    );
    expect(errorReasons(tooSoon)).to.deep.equal(["VERSION_DEPRECATED_TOO_RECENTLY"]);
    clock.advance(200 * DAY);
    api = t.client(ImageService, await t.login("admin", TEST_ADMIN_PASSWORD)); // tokens expired meanwhile
    const inUse = await failure(api.archiveImageVersion({ id: v["v1.0.0"]! }));
    expect(inUse.rawMessage).to.equal("Cannot archive image version v1.0.0: 1 instance(s) still use it");
    expect(errorReasons(inUse)).to.deep.equal(["VERSION_IN_USE"]);
    await t.hub.db.knex("image_version_usage").where({ image_version_id: v["v1.0.0"] }).delete();
    const archived = (await api.archiveImageVersion({ id: v["v1.0.0"]! })).version!;
    expect(archived).to.include({
      status: ImageVersionStatus.ARCHIVED,
      versionNumber: "v1.0.0",
      versionName: "Ubuntu 22.04 base",
    });
    expect(archived.archiveTime).to.not.equal(undefined);
    expect((await api.getImageVersion({ id: v["v1.0.0"]! })).version!.status).to.equal(ImageVersionStatus.ARCHIVED);
  });
});
