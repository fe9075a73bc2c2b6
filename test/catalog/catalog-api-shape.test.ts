import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { ManualClock } from "../../lib/clock/clock.js";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { TemplateService, TemplateVisibility } from "../../gen/edgehub/admin/v1/template_pb.js";
import { newId } from "../../hub/db/ids.js";
import { connectErrorOf, errorReasons, walkPages } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";

const ROWS = 2500;

/** Inserts rows in chunks (PostgreSQL takes at most 65 535 bind parameters per statement). */
async function bulkInsert(t: TestHub, table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await t.hub.db.knex(table).insert(rows.slice(i, i + 500));
}

describe("catalog API conventions: etags on update, every list walked in pages", function () {
  this.timeout(60_000);
  let t: TestHub;
  let images: ReturnType<typeof t.client<typeof ImageService>>;
  let templates: ReturnType<typeof t.client<typeof TemplateService>>;
  let adminId: string;

  before(async () => {
    t = await startTestHub({ clock: new ManualClock() });
    const token = await t.adminToken();
    images = t.client(ImageService, token);
    templates = t.client(TemplateService, token);
    adminId = (await t.hub.db.knex("users").where({ username: "admin" }).first("id")).id;
  });
  after(async () => t?.stop());

  const snapshot = async (table: string, id: string) => ({
    row: await t.hub.db.knex(table).where({ id }).first(),
    audit: Number((await t.hub.db.knex("audit_log").count({ n: "*" }).first())!.n),
  });

  it("UpdateImage with a stale etag is aborted (ETAG_MISMATCH) and writes nothing; the current etag works", async () => {
    const read = (
      await images.createImage({
        image: { name: "etag-image", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
      })
    ).image!;
    const changed = (
      await images.updateImage({ image: { id: read.id, description: "first" }, updateMask: { paths: ["description"] } })
    ).image!;
    const before = await snapshot("images", read.id);
    const err = await connectErrorOf(
      images.updateImage({
        image: { id: read.id, description: "stale", etag: read.etag },
        updateMask: { paths: ["description"] },
      }),
    );
    expect(err.code).to.equal(Code.Aborted);
    expect(errorReasons(err)).to.deep.equal(["ETAG_MISMATCH"]);
    expect(await snapshot("images", read.id)).to.deep.equal(before);
    const ok = await images.updateImage({
      image: { id: read.id, description: "current", etag: changed.etag },
      updateMask: { paths: ["description"] },
    });
    expect(ok.image!.description).to.equal("current");
    expect((await images.getImage({ id: read.id })).image!.etag).to.equal(ok.image!.etag);
  });

  it("UpdateTemplate with a stale etag is aborted (ETAG_MISMATCH) and writes nothing, no version either", async () => {
    const image = (
      await images.createImage({
        image: { name: "etag-base", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
      })
    ).image!;
    const config = {
      name: "etag-template",
      baseImageId: image.id,
      defaultCpuCores: 2,
      defaultMemoryGb: 4,
      defaultStorageGb: 40,
    };
    const read = (await templates.createTemplate({ template: { config, visibility: TemplateVisibility.PUBLIC } }))
      .template!;
    const changed = (
      await templates.updateTemplate({
        template: { id: read.id, config: { ...config, defaultCpuCores: 4 } },
        updateMask: { paths: ["config.default_cpu_cores"] },
      })
    ).template!;
    const before = {
      ...(await snapshot("templates", read.id)),
      versions: await t.hub.db.knex("template_versions").where({ template_id: read.id }).count({ n: "*" }).first(),
    };
    const err = await connectErrorOf(
      templates.updateTemplate({
        template: { id: read.id, config: { ...config, defaultCpuCores: 8 }, etag: read.etag },
        updateMask: { paths: ["config.default_cpu_cores"] },
      }),
    );
    expect(err.code).to.equal(Code.Aborted);
    expect(errorReasons(err)).to.deep.equal(["ETAG_MISMATCH"]);
    const after = {
      ...(await snapshot("templates", read.id)),
      versions: await t.hub.db.knex("template_versions").where({ template_id: read.id }).count({ n: "*" }).first(),
    };
    expect(after).to.deep.equal(before);
    const ok = await templates.updateTemplate({
      template: { id: read.id, config: { ...config, defaultCpuCores: 8 }, etag: changed.etag },
      updateMask: { paths: ["config.default_cpu_cores"] },
    });
    expect(ok.template!.config!.defaultCpuCores).to.equal(8);
  });

  it(`ListImages walks ${ROWS} images in pages, each exactly once`, async () => {
    const known = (await images.listImages({ pageSize: 1000 })).images.length;
    await bulkInsert(
      t,
      "images",
      Array.from({ length: ROWS }, (_, i) => ({
        id: newId(),
        name: `bulk-image-${i}`,
        image_type: "custom",
        visibility: "public",
        owner_id: adminId,
      })),
    );
    const ids = await walkPages(async (pageSize, pageToken) => {
      const page = await images.listImages({ pageSize, pageToken });
      return { items: page.images, nextPageToken: page.nextPageToken };
    }, 300);
    expect(ids).to.have.length(ROWS + known);
  });

  it(`ListImageVersions and ListImageTags walk ${ROWS} versions and tags in pages, in order, each exactly once`, async () => {
    const image = (
      await images.createImage({
        image: { name: "many-versions", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
      })
    ).image!;
    const versions = Array.from({ length: ROWS }, (_, i) => {
      const [major, minor, patch] = [1 + (i % 3), i % 7, i];
      return {
        id: newId(),
        image_id: image.id,
        version_number: `v${major}.${minor}.${patch}`,
        major,
        minor,
        patch,
        status: "active",
      };
    });
    await bulkInsert(t, "image_versions", versions);
    await bulkInsert(
      t,
      "image_tags",
      versions.map((v) => ({
        id: newId(),
        image_id: image.id,
        version_id: v.id,
        tag_name: v.version_number,
        tag_kind: "version",
        is_immutable: true,
      })),
    );
    const seen: string[] = [];
    const ids = await walkPages(async (pageSize, pageToken) => {
      const page = await images.listImageVersions({ imageId: image.id, pageSize, pageToken });
      seen.push(...page.versions.map((v) => v.versionNumber));
      return { items: page.versions, nextPageToken: page.nextPageToken };
    }, 300);
    expect(ids).to.have.length(ROWS);
    const key = (n: string) => n.slice(1).split(".").map(Number);
    const newestFirst = [...seen].sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      return y[0]! - x[0]! || y[1]! - x[1]! || y[2]! - x[2]!;
    });
    expect(seen).to.deep.equal(newestFirst);
    const names: string[] = [];
    const tagIds = await walkPages(async (pageSize, pageToken) => {
      const page = await images.listImageTags({ imageId: image.id, pageSize, pageToken });
      names.push(...page.tags.map((x) => x.tagName));
      return { items: page.tags, nextPageToken: page.nextPageToken };
    }, 300);
    expect(tagIds).to.have.length(ROWS);
    expect(names).to.deep.equal([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(
      (
        await connectErrorOf(
          images.listImageVersions({
            imageId: image.id,
            pageToken: Buffer.from(JSON.stringify({ k: ["x", "1", "2"] })).toString("base64url"),
          }),
        )
      ).code,
    ).to.equal(Code.InvalidArgument);
  });

  it(`ListTemplates and ListTemplateVersions walk ${ROWS} rows in pages, each exactly once`, async () => {
    const known = (await templates.listTemplates({ pageSize: 1000 })).templates.length;
    await bulkInsert(
      t,
      "templates",
      Array.from({ length: ROWS }, (_, i) => ({
        id: newId(),
        name: `bulk-template-${i}`,
        default_cpu_cores: 1,
        default_memory_gb: 1,
        default_storage_gb: 10,
        visibility: "public",
        owner_id: adminId,
      })),
    );
    const ids = await walkPages(async (pageSize, pageToken) => {
      const page = await templates.listTemplates({ pageSize, pageToken });
      return { items: page.templates, nextPageToken: page.nextPageToken };
    }, 300);
    expect(ids).to.have.length(ROWS + known);

    const owner = (await templates.listTemplates({ nameContains: "bulk-template-0", pageSize: 1 })).templates[0]!;
    const snapshotOf = (n: number) =>
      JSON.stringify({
        name: owner.config!.name,
        description: "",
        useCase: "general",
        templateType: "instance",
        baseImageId: null,
        defaultCpuCores: n,
        defaultMemoryGb: 1,
        defaultStorageGb: 10,
        defaultGpuCount: 0,
        gpuModel: "",
        defaultBandwidthGbps: null,
        networkConfig: {},
        userData: "",
        tags: {},
        pricePerHour: 0,
        listed: true,
        instanceSet: null,
      });
    await bulkInsert(
      t,
      "template_versions",
      Array.from({ length: ROWS }, (_, i) => ({
        id: newId(),
        template_id: owner.id,
        version_number: `v1.0.${i}`,
        is_latest: i === ROWS - 1,
        config_snapshot: snapshotOf(i + 1),
      })),
    );
    const versionIds = await walkPages(async (pageSize, pageToken) => {
      const page = await templates.listTemplateVersions({ templateId: owner.id, pageSize, pageToken });
      return { items: page.versions, nextPageToken: page.nextPageToken };
    }, 300);
    expect(versionIds).to.have.length(ROWS);
    expect(versionIds).to.deep.equal([...versionIds].sort().reverse(), "newest first");
  });
});
