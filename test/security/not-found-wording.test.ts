import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD, failure } from "../catalog/catalog-fixtures.js";

describe("a not-found answer names only what was asked for (security #6)", function () {
  this.timeout(60_000);
  let t: TestHub;
  let image: { id: string; name: string };
  let versionId: string;
  let outsider: ReturnType<typeof t.client<typeof ImageService>>;

  before(async () => {
    t = await startTestHub();
    const admin = t.client(ImageService, await t.adminToken());
    const people = new CatalogPeople(t.hub.db.knex);
    const owner = await people.tenant("nf-owner");
    await people.tenant("nf-outsider");
    await people.user("nf-owner-admin", "tenant_admin", owner);
    await people.user("nf-stranger", "user", {
      id: (await t.hub.db.knex("tenants").where("name", "nf-outsider").first()).id,
      name: "nf-outsider",
    });
    const created = (
      await admin.createImage({
        image: {
          name: "nf-secret-project-image",
          imageType: ImageType.OS_BASE,
          visibility: ImageVisibility.PRIVATE,
          tenantId: owner.id,
        },
      })
    ).image!;
    image = { id: created.id, name: created.name };
    versionId = (await admin.publishImageVersion({ imageId: image.id, versionNumber: "v1.0.0" })).version!.id;
    outsider = t.client(ImageService, await t.login("nf-stranger", PASSWORD));
  });
  after(async () => t?.stop());

  const calls: [string, () => Promise<unknown>][] = [
    ["GetImageVersion", () => outsider.getImageVersion({ id: versionId })],
    ["CheckImageRequirements", () => outsider.checkImageRequirements({ imageVersionId: versionId })],
  ];
  for (const [method, call] of calls) {
    it(`${method} on another tenant's private version: not_found naming the version, never its image`, async () => {
      const err = await failure(call());
      expect(err.code).to.equal(Code.NotFound);
      expect(err.rawMessage).to.contain(versionId);
      expect(err.rawMessage).to.not.contain(image.id).and.not.contain(image.name);
    });
  }

  it("a foreign version and a version that does not exist answer in the same words", async () => {
    const unknown = "0190a000-0000-7000-8000-000000000000";
    const foreign = await failure(outsider.getImageVersion({ id: versionId }));
    const missing = await failure(outsider.getImageVersion({ id: unknown }));
    expect([foreign.code, foreign.rawMessage.replace(versionId, "ID")]).to.deep.equal([
      missing.code,
      missing.rawMessage.replace(unknown, "ID"),
    ]);
  });
});
