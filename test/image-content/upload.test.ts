import { expect } from "chai";
import http2 from "node:http2";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { ImageContentFormat } from "../../gen/edgehub/common/v1/compute_pb.js";
import { CatalogPeople, PASSWORD, counts } from "../catalog/catalog-fixtures.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { fakeQcow2, sha256, storedHashes, uploadContent } from "./upload-support.js";

const MAX_BYTES = 100_000;

describe("image content upload: PUT /v1/image-versions/{id}/content", function () {
  let t: TestHub;
  let admin: string;
  let imageId: string;
  let versionId: string;
  let storeDir: string;
  const image = fakeQcow2(40_000);

  const versionRow = () =>
    t.hub.db
      .knex("image_versions")
      .where({ id: versionId })
      .first("content_sha256", "content_size_bytes", "content_format", "content_uploaded_at");
  const audits = async () => (await counts(t.hub.db.knex, ["audit_log"])).audit_log!;

  async function newVersion(number: string): Promise<string> {
    const api = t.client(ImageService, admin);
    return (await api.publishImageVersion({ imageId, versionNumber: number })).version!.id;
  }

  before(async () => {
    t = await startTestHub({ args: ["--image-max-bytes", String(MAX_BYTES)] });
    storeDir = t.config.imageStoreDir;
    admin = await t.adminToken();
    const api = t.client(ImageService, admin);
    imageId = (
      await api.createImage({
        image: {
          name: "tiny-guest",
          imageType: ImageType.OS_BASE,
          baseOs: "linux",
          visibility: ImageVisibility.PUBLIC,
        },
      })
    ).image!.id;
    versionId = await newVersion("v1.0.0");
  });
  after(async () => t?.stop());

  it("refuses a body whose sha256 is not the declared one (400 naming both), storing and recording nothing", async () => {
    const declared = sha256(Buffer.from("not the body"));
    const before = await audits();
    const r = await uploadContent(t.baseUrl, versionId, image, { token: admin, sha256: declared });
    expect(r.status).to.equal(400);
    expect(r.body).to.include({ code: "invalid_argument", field: "sha256" });
    expect(r.body.message).to.contain(declared).and.contain(sha256(image));
    expect(storedHashes(storeDir)).to.deep.equal([]);
    expect(await versionRow()).to.include({ content_sha256: null, content_size_bytes: null });
    const { version } = await t.client(ImageService, admin).getImageVersion({ id: versionId });
    expect(version).to.include({
      contentSha256: "",
      contentSizeBytes: 0n,
      contentFormat: ImageContentFormat.UNSPECIFIED,
    });
    expect(await audits()).to.equal(before);
  });

  it("refuses a body over --image-max-bytes with 413: by Content-Length before reading, and while reading a chunked body", async () => {
    const big = fakeQcow2(MAX_BYTES + 1);
    const before = await audits();
    for (const chunked of [false, true]) {
      const r = await uploadContent(t.baseUrl, versionId, big, { token: admin, chunked });
      expect(r.status, `chunked: ${chunked}`).to.equal(413);
      expect(r.body).to.include({ code: "resource_exhausted", reason: "CONTENT_TOO_LARGE" });
    }
    expect(storedHashes(storeDir)).to.deep.equal([]);
    expect((await versionRow())!.content_sha256).to.equal(null);
    expect(await audits()).to.equal(before);
  });

  it("refuses a body that contradicts its declared format, and a missing or unknown format", async () => {
    const raw = Buffer.alloc(1000, 7);
    expect((await uploadContent(t.baseUrl, versionId, raw, { token: admin, format: "qcow2" })).body).to.include({
      field: "format",
    });
    expect((await uploadContent(t.baseUrl, versionId, image, { token: admin, format: "raw" })).status).to.equal(400);
    expect((await uploadContent(t.baseUrl, versionId, image, { token: admin, format: "vmdk" })).status).to.equal(400);
    expect((await uploadContent(t.baseUrl, versionId, image, { token: admin, format: "" })).body).to.include({
      field: "X-Content-Format",
    });
    expect(storedHashes(storeDir)).to.deep.equal([]);
  });

  it("refuses callers without a token (401), with a bad token (401), and roles that may not manage the image (403)", async () => {
    const people = new CatalogPeople(t.hub.db.knex);
    const tenant = await people.tenant("tenant-up");
    await people.user("up-user", "user", tenant);
    await people.user("up-operator", "operator", null);
    await people.user("up-tadmin", "tenant_admin", tenant); // the image is a platform image: not theirs
    expect((await uploadContent(t.baseUrl, versionId, image, {})).status).to.equal(401);
    expect((await uploadContent(t.baseUrl, versionId, image, { token: "ehb_nonsense" })).status).to.equal(401);
    for (const [name, tenantName] of [
      ["up-user", "tenant-up"],
      ["up-operator", ""],
      ["up-tadmin", "tenant-up"],
    ] as const) {
      const token = await t.login(name, PASSWORD, tenantName);
      const r = await uploadContent(t.baseUrl, versionId, image, { token });
      expect(r.status, name).to.equal(403);
      expect(r.body.code).to.equal("permission_denied");
    }
    expect(storedHashes(storeDir)).to.deep.equal([]);
  });

  it("answers 404 for an unknown version and 405 for other methods", async () => {
    const r = await uploadContent(t.baseUrl, "0190a0a0-0000-7000-8000-000000000000", image, { token: admin });
    expect(r.status).to.equal(404);
    const malformed = await uploadContent(t.baseUrl, "%E0%A4%A", image, { token: admin });
    expect(malformed.status).to.equal(404);
    const get = await fetch(`${t.baseUrl}/v1/image-versions/${versionId}/content`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(get.status).to.equal(405);
  });

  it("stores good content (201), records it on the version with an audit row, and shows it on the admin API", async () => {
    const before = await audits();
    const r = await uploadContent(t.baseUrl, versionId, image, { token: admin, chunked: true });
    expect(r.status).to.equal(201);
    expect(r.body).to.include({
      image_version_id: versionId,
      content_sha256: sha256(image),
      content_size_bytes: image.length,
      content_format: "qcow2",
      created: true,
    });
    expect(storedHashes(storeDir)).to.deep.equal([sha256(image)]);
    const row = await versionRow();
    expect(row).to.include({ content_sha256: sha256(image), content_format: "qcow2" });
    expect(Number(row!.content_size_bytes)).to.equal(image.length);
    expect(await audits()).to.equal(before + 1);
    const entry = await t.hub.db
      .knex("audit_log")
      .where({ action: "image.upload_version_content", target_id: imageId })
      .first("after");
    expect(entry.after).to.include({ versionId, sha256: sha256(image), sizeBytes: image.length });
    const { version } = await t.client(ImageService, admin).getImageVersion({ id: versionId });
    expect(version).to.include({
      contentSha256: sha256(image),
      contentSizeBytes: BigInt(image.length),
      contentFormat: ImageContentFormat.QCOW2,
    });
    expect(version!.contentUploadTime).to.not.equal(undefined);
  });

  it("a repeated upload of identical content is idempotent (200, created false), also with a Digest header", async () => {
    const r = await uploadContent(t.baseUrl, versionId, image, { token: admin, digestHeader: true });
    expect(r.status).to.equal(200);
    expect(r.body).to.include({ content_sha256: sha256(image), created: false });
    expect(storedHashes(storeDir)).to.deep.equal([sha256(image)]);
  });

  it("different content for a version that has content is 409 VERSION_CONTENT_IMMUTABLE, read no further", async () => {
    const other = fakeQcow2(30_000);
    const r = await uploadContent(t.baseUrl, versionId, other, { token: admin });
    expect(r.status).to.equal(409);
    expect(r.body).to.include({ reason: "VERSION_CONTENT_IMMUTABLE" });
    expect(storedHashes(storeDir)).to.deep.equal([sha256(image)]);
    expect((await versionRow())!.content_sha256).to.equal(sha256(image));
  });

  it("takes an upload over HTTP/2 (h2c prior knowledge) too, and refuses over it without breaking the session", async () => {
    const third = await newVersion("v1.0.2");
    const session = http2.connect(t.baseUrl);
    try {
      const put = (body: Buffer, declared: string) =>
        new Promise<number>((resolve, reject) => {
          const req = session.request({
            ":method": "PUT",
            ":path": `/v1/image-versions/${third}/content`,
            authorization: `Bearer ${admin}`,
            "x-content-sha256": declared,
            "x-content-format": "qcow2",
          });
          req.on("response", (h) => resolve(Number(h[":status"])));
          req.on("error", reject);
          req.end(body);
        });
      const other = fakeQcow2(20_000);
      expect(await put(other, sha256(image))).to.equal(400);
      expect(await put(other, sha256(other))).to.equal(201);
    } finally {
      session.close();
    }
  });

  it("two versions may share content: the store keeps one file", async () => {
    const second = await newVersion("v1.0.1");
    const before = storedHashes(storeDir);
    expect(before).to.include(sha256(image));
    const r = await uploadContent(t.baseUrl, second, image, { token: admin });
    expect(r.status).to.equal(201);
    expect(storedHashes(storeDir)).to.deep.equal(before);
  });
});
