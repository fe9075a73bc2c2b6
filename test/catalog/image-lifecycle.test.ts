import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { ManualClock } from "../../lib/clock/clock.js";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { errorReasons } from "../support/api-conventions.js";
import { TemplateService } from "../../gen/edgehub/admin/v1/template_pb.js";
import { newId } from "../../hub/db/ids.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { counts, failure } from "./catalog-fixtures.js";

describe("ImageService: image status, update, delete and the latest tag", function () {
  let t: TestHub;
  let api: ReturnType<typeof t.client<typeof ImageService>>;
  let templates: ReturnType<typeof t.client<typeof TemplateService>>;

  before(async () => {
    t = await startTestHub({ clock: new ManualClock() });
    const token = await t.adminToken();
    api = t.client(ImageService, token);
    templates = t.client(TemplateService, token);
  });
  after(async () => t?.stop());

  const newImage = async (name: string) =>
    (await api.createImage({ image: { name, imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC } }))
      .image!;

  it("updates only the fields sent, validates them, and audits before/after", async () => {
    const img = await newImage("debian");
    // Fields outside the mask are ignored even when sent.
    const res = await api.updateImage({
      image: { id: img.id, description: "Debian 12", osVersion: "12", name: "ignored" },
      updateMask: { paths: ["description", "os_version"] },
    });
    expect(res.image).to.include({
      name: "debian",
      description: "Debian 12",
      osVersion: "12",
      visibility: ImageVisibility.PUBLIC,
    });
    expect(res.image!.etag).to.not.equal(img.etag);
    expect(
      (
        await failure(
          api.updateImage({ image: { id: img.id, checksumMd5: "nope" }, updateMask: { paths: ["checksum_md5"] } }),
        )
      ).rawMessage,
    ).to.contain("Invalid image.checksum_md5");
    expect(
      (await failure(api.updateImage({ image: { id: img.id }, updateMask: { paths: ["image_type"] } }))).rawMessage,
    ).to.contain("Invalid update_mask");
    expect((await failure(api.updateImage({ image: { id: img.id, description: "x" } }))).rawMessage).to.contain(
      "Invalid update_mask",
    );
    const audit = await t.hub.db.knex("audit_log").where({ action: "image.update", target_id: img.id }).first();
    expect(audit.before.description).to.equal("");
    expect(audit.after.description).to.equal("Debian 12");
  });

  it("deleting the latest tag clears is_latest; re-setting it restores both", async () => {
    const img = await newImage("alpine");
    const v1 = (await api.publishImageVersion({ imageId: img.id, versionNumber: "v3.19.0" })).version!;
    await api.deleteImageTag({ imageId: img.id, tagName: "latest" });
    expect((await api.getImageVersion({ id: v1.id })).version).to.include({ isLatest: false });
    expect((await failure(api.resolveImage({ reference: "alpine" }))).code).to.equal(Code.NotFound);
    await api.setImageTag({ imageId: img.id, tagName: "latest", versionId: v1.id });
    expect((await api.getImageVersion({ id: v1.id })).version).to.include({ isLatest: true });
    expect((await failure(api.deleteImageTag({ imageId: img.id, tagName: "nightly" }))).code).to.equal(Code.NotFound);
  });

  it("moves the default version to an active version only", async () => {
    const img = await newImage("arch");
    const v1 = (await api.publishImageVersion({ imageId: img.id, versionNumber: "v1.0.0" })).version!;
    const v2 = (await api.publishImageVersion({ imageId: img.id, versionNumber: "v2.0.0" })).version!;
    expect((await api.setDefaultImageVersion({ id: v2.id })).version).to.include({ isDefault: true });
    expect((await api.getImageVersion({ id: v1.id })).version).to.include({ isDefault: false });
    await api.deprecateImageVersion({ id: v1.id });
    expect((await failure(api.setDefaultImageVersion({ id: v1.id }))).rawMessage).to.equal(
      "Cannot make image version v1.0.0 the default: it is deprecated",
    );
  });

  it("archives an image only when no version is active, and refuses new versions of a non-active image", async () => {
    const img = await newImage("fedora");
    const v = (await api.publishImageVersion({ imageId: img.id, versionNumber: "v1.0.0" })).version!;
    const refused = await failure(api.archiveImage({ id: img.id }));
    expect(refused.rawMessage).to.equal("Cannot archive image fedora: version v1.0.0 is still active");
    expect(errorReasons(refused)).to.deep.equal(["IMAGE_HAS_ACTIVE_VERSIONS"]);
    await api.deprecateImage({ id: img.id });
    const publish = await failure(api.publishImageVersion({ imageId: img.id, versionNumber: "v1.1.0" }));
    expect(publish.code).to.equal(Code.FailedPrecondition);
    expect(publish.rawMessage).to.contain("the image is deprecated");
    expect(errorReasons(publish)).to.deep.equal(["IMAGE_NOT_ACTIVE"]);
    await api.activateImage({ id: img.id });
    await api.deprecateImage({ id: img.id });
    await api.deprecateImageVersion({ id: v.id });
    await api.archiveImage({ id: img.id });
    const reactivate = await failure(api.activateImage({ id: img.id }));
    expect(reactivate.rawMessage).to.contain("it is archived");
    expect(errorReasons(reactivate)).to.deep.equal(["IMAGE_ARCHIVED"]);
    expect((await failure(api.deprecateImage({ id: "fedora" }))).code).to.equal(Code.InvalidArgument);
    const actions = await t.hub.db.knex("audit_log").where({ target_id: img.id }).orderBy("at").pluck("action");
    expect(actions.filter((a: string) => !a.includes("version"))).to.deep.equal([
      "image.create",
      "image.deprecate",
      "image.activate",
      "image.deprecate",
      "image.archive",
    ]);
  });

  it("deletes an image softly, only when no template and no instance uses it; the name becomes free again", async () => {
    const img = await newImage("rocky");
    const v = (await api.publishImageVersion({ imageId: img.id, versionNumber: "v9.0.0" })).version!;
    const tpl = (
      await templates.createTemplate({
        template: {
          config: {
            name: "rocky-box",
            baseImageId: img.id,
            defaultCpuCores: 2,
            defaultMemoryGb: 4,
            defaultStorageGb: 40,
          },
        },
      })
    ).template!;
    const inUse = await failure(api.deleteImage({ id: img.id }));
    expect(inUse.rawMessage).to.equal("Cannot delete image rocky: template rocky-box uses it");
    expect(errorReasons(inUse)).to.deep.equal(["IMAGE_IN_USE"]);
    await templates.deleteTemplate({ id: tpl.id });
    await t.hub.db
      .knex("image_version_usage")
      .insert({ instance_id: newId(), image_version_id: v.id, image_id: img.id });
    expect((await failure(api.deleteImage({ id: img.id }))).rawMessage).to.equal(
      "Cannot delete image rocky: instances still use it",
    );
    await t.hub.db.knex("image_version_usage").where({ image_id: img.id }).delete();
    const before = await counts(t.hub.db.knex, ["images"]);
    await api.deleteImage({ id: img.id });
    expect(await counts(t.hub.db.knex, ["images"])).to.deep.equal(before, "soft delete keeps the row");
    expect((await failure(api.getImage({ id: img.id }))).code).to.equal(Code.NotFound);
    expect((await t.hub.db.knex("images").where({ id: img.id }).first()).deleted_at).to.not.equal(null);
    expect((await newImage("rocky")).id).to.not.equal(img.id);
  });
});
