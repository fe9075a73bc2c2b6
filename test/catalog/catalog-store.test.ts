import { expect } from "chai";
import { ManualClock } from "../../lib/clock/clock.js";
import type { Principal } from "../../hub/api/principal.js";
import { canSeeCatalogItem, type CatalogItemAccess } from "../../hub/catalog/catalog-access.js";
import { sharesGroupWith, whereVisibleTo } from "../../hub/catalog/catalog-visibility-query.js";
import type { Caller } from "../../hub/api/caller.js";
import { parsePageRequest } from "../../hub/api/page-token.js";
import { IMAGE_VISIBILITY } from "../../hub/catalog/catalog-enums.js";
import type { CatalogDeps } from "../../hub/catalog/catalog-deps.js";
import { createImage } from "../../hub/catalog/image-operations.js";
import {
  archiveImageVersion,
  deprecateImageVersion,
  publishImageVersion,
} from "../../hub/catalog/image-version-operations.js";
import { recordImageVersionUse } from "../../hub/catalog/image-version-usage.js";
import { listImageVersions } from "../../hub/catalog/image-version-store.js";
import { createTemplate, updateTemplate } from "../../hub/catalog/template-operations.js";
import { listTemplateVersions } from "../../hub/catalog/template-store.js";
import { newId } from "../../hub/db/ids.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { CatalogPeople, type TestUser } from "./catalog-fixtures.js";

const publish = {
  versionName: "",
  parentVersionId: null,
  sizeGb: 1,
  filePath: "",
  checksumMd5: "",
  releaseNotes: "",
  makeDefault: false,
};

describe("catalog stores: visibility SQL agrees with the pure rule; concurrent version changes", function () {
  let db: TestDatabase;
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let deps: CatalogDeps;
  let people: CatalogPeople;
  let root: Principal;
  /** A caller asking now (operations take their time from the caller). */
  const as = (principal: Principal): Caller => ({ principal, requestId: "test", at: clock.now() });
  const admin = () => as(root);

  before(async () => {
    db = await createTestDatabase();
    deps = { knex: db.db.knex, clock };
    people = new CatalogPeople(db.db.knex);
    root = await people.user("root", "admin", null);
  });
  after(async () => db?.drop());

  it("whereVisibleTo returns exactly the images canSeeCatalogItem allows, for every role and visibility", async () => {
    const knex = db.db.knex;
    const a = await people.tenant("vis-a");
    const b = await people.tenant("vis-b");
    const ownerA = await people.user("owner-a", "tenant_admin", a);
    const users: TestUser[] = [
      ownerA,
      await people.user("member-a", "user", a),
      await people.user("loner-a", "user", a),
      await people.user("user-b", "user", b),
      await people.user("ta-b", "tenant_admin", b),
      await people.user("op", "operator", null),
      await people.user("admin2", "admin", null),
    ];
    await people.group(a.id, "g", [ownerA, users[1]!]);
    const deletedGroup = await people.group(a.id, "old", [ownerA, users[2]!]);
    await knex("user_groups").where({ id: deletedGroup }).update({ deleted_at: new Date() });
    const items: (CatalogItemAccess & { id: string })[] = [];
    for (const tenantId of [a.id, null]) {
      for (const visibility of IMAGE_VISIBILITY.dbValues) {
        const owner = tenantId === null ? root : ownerA;
        const image = await createImage(deps, as(owner), {
          name: `img-${visibility}-${tenantId ? "a" : "p"}`,
          description: "",
          imageType: "custom",
          baseOs: "",
          osVersion: "",
          architecture: "x86_64",
          sizeGb: 0,
          visibility,
          fileServerId: "",
          filePath: "",
          checksumMd5: "",
          tenantId,
        });
        items.push({ id: image.id, ownerId: image.ownerId, tenantId: image.tenantId, visibility, status: "active" });
      }
    }
    for (const u of users) {
      const sql = (
        (await whereVisibleTo(knex, knex("images").whereNull("images.deleted_at"), "images", u).pluck(
          "images.id",
        )) as string[]
      ).sort();
      const pure: string[] = [];
      for (const item of items)
        if (canSeeCatalogItem(u, item, await sharesGroupWith(knex, u.userId, item.ownerId))) pure.push(item.id);
      expect(sql, u.username).to.deep.equal(pure.sort());
    }
    // Spot checks, so the agreement is not vacuous.
    const seen = async (u: TestUser) =>
      ((await whereVisibleTo(knex, knex("images"), "images", u).pluck("images.name")) as string[]).sort();
    expect(await seen(users[1]!)).to.deep.equal(["img-group_specific-a", "img-public-a", "img-public-p"]);
    expect(await seen(users[2]!)).to.deep.equal(["img-public-a", "img-public-p"], "a deleted group shares nothing");
    expect(await seen(users[3]!)).to.deep.equal(["img-public-p"]);
  });

  it("keeps exactly one latest version when versions are published concurrently", async () => {
    const image = await createImage(deps, admin(), {
      name: "busy",
      description: "",
      imageType: "os_base",
      baseOs: "",
      osVersion: "",
      architecture: "x86_64",
      sizeGb: 0,
      visibility: "public",
      fileServerId: "",
      filePath: "",
      checksumMd5: "",
      tenantId: null,
    });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        publishImageVersion(deps, admin(), image.id, { ...publish, versionNumber: `v1.${i}.0`, makeLatest: true }),
      ),
    );
    const versions = await listImageVersions(db.db.knex, image.id);
    expect(versions).to.have.length(8);
    expect(versions.filter((v) => v.isLatest)).to.have.length(1);
    const latestTag = await db.db
      .knex("image_tags")
      .where({ image_id: image.id, tag_name: "latest" })
      .whereNull("deleted_at")
      .select("version_id");
    expect(latestTag).to.have.length(1);
    expect(latestTag[0].version_id).to.equal(versions.find((v) => v.isLatest)!.id);
  });

  it("numbers concurrent template updates uniquely, with one latest version holding the last write", async () => {
    const image = await createImage(deps, admin(), {
      name: "tpl-base",
      description: "",
      imageType: "os_base",
      baseOs: "",
      osVersion: "",
      architecture: "x86_64",
      sizeGb: 0,
      visibility: "public",
      fileServerId: "",
      filePath: "",
      checksumMd5: "",
      tenantId: null,
    });
    const template = await createTemplate(deps, admin(), {
      config: {
        name: "busy-template",
        description: "",
        useCase: "general",
        templateType: "instance",
        baseImageId: image.id,
        defaultCpuCores: 1,
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
      },
      visibility: "public",
      tenantId: null,
      versionNumber: "",
      changelog: "",
    });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        updateTemplate(deps, admin(), template.id, {
          config: { defaultCpuCores: i + 2 },
          versionNumber: "",
          changelog: `cpu ${i + 2}`,
          etag: "",
        }),
      ),
    );
    const versions = (await listTemplateVersions(db.db.knex, template.id, parsePageRequest(1000, ""))).items;
    expect(versions.map((v) => v.versionNumber).sort()).to.deep.equal([
      "v1.0.0",
      "v1.0.1",
      "v1.0.2",
      "v1.0.3",
      "v1.0.4",
      "v1.0.5",
      "v1.0.6",
    ]);
    const latest = versions.filter((v) => v.isLatest);
    expect(latest).to.have.length(1);
    expect(latest[0]!.versionNumber).to.equal("v1.0.6");
    const last = results.find((r) => r.version.versionNumber === "v1.0.6")!;
    expect(latest[0]!.config.defaultCpuCores).to.equal(last.template.config.defaultCpuCores);
  });

  it("archive racing the release of the last use never leaves a used version archived; new uses of a deprecated version are refused", async () => {
    const image = await createImage(deps, admin(), {
      name: "racy",
      description: "",
      imageType: "os_base",
      baseOs: "",
      osVersion: "",
      architecture: "x86_64",
      sizeGb: 0,
      visibility: "public",
      fileServerId: "",
      filePath: "",
      checksumMd5: "",
      tenantId: null,
    });
    const v = await publishImageVersion(deps, admin(), image.id, {
      ...publish,
      versionNumber: "v1.0.0",
      makeLatest: true,
    });
    // An instance records its use of the active version, then the version is deprecated and 7 months pass.
    const instanceId = newId();
    await db.db.knex.transaction((trx) =>
      recordImageVersionUse(trx, { instanceId, imageVersionId: v.id, now: clock.now() }),
    );
    await deprecateImageVersion(deps, admin(), image.id, v.id);
    clock.advance(214 * 24 * 3600 * 1000);
    const results = await Promise.allSettled([
      archiveImageVersion(deps, admin(), image.id, v.id),
      db.db.knex.transaction((trx) => trx("image_version_usage").where({ instance_id: instanceId }).delete()),
    ]);
    const archived = results[0].status === "fulfilled";
    const usage = await db.db
      .knex("image_version_usage")
      .where({ image_version_id: v.id })
      .count<{ n: number }[]>({ n: "*" });
    // Either the archive saw the use (and was refused) or it ran after the release: never archived while used.
    if (archived) expect(Number(usage[0]!.n)).to.equal(0);
    else expect(String((results[0] as PromiseRejectedResult).reason.message)).to.contain("still use it");
    // And a new use of a deprecated (or archived) version is refused.
    const err = await db.db.knex
      .transaction((trx) => recordImageVersionUse(trx, { instanceId: newId(), imageVersionId: v.id, now: clock.now() }))
      .catch((e: Error) => e);
    expect((err as Error).message).to.match(/the version is (deprecated|archived)/);
  });
});
