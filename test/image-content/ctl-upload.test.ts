import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { EXIT } from "../../edgehubctl/exit-codes.js";
import { createCtlHome, type CtlHome } from "../support/edgehubctl-process.js";
import { startTestHub, TEST_ADMIN_PASSWORD, type TestHub } from "../support/test-hub.js";
import { fakeQcow2, sha256 } from "./upload-support.js";

describe("edgehubctl image upload", function () {
  this.timeout(180_000);
  let t: TestHub;
  let home: CtlHome;
  let versionId: string;

  before(async () => {
    t = await startTestHub();
    home = createCtlHome();
    const api = t.client(ImageService, await t.adminToken());
    const imageId = (
      await api.createImage({
        image: { name: "ctl-upload", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
      })
    ).image!.id;
    versionId = (await api.publishImageVersion({ imageId, versionNumber: "v1.0.0" })).version!.id;
    const login = await home.run(["login", "--hub", t.baseUrl, "--password-stdin"], `${TEST_ADMIN_PASSWORD}\n`);
    expect(login.code, login.stderr).to.equal(0);
  });
  after(async () => {
    home?.remove();
    await t?.stop();
  });

  it("uploads a file (format detected), answers an identical repeat as already there, and refuses other bytes with the conflict exit code", async () => {
    const file = path.join(home.dir, "disk.qcow2");
    const bytes = fakeQcow2(300_000);
    fs.writeFileSync(file, bytes);
    const first = await home.runInProcess(["image", "upload", versionId, file]);
    expect(first.code, first.stderr).to.equal(EXIT.OK);
    expect(first.stdout).to.equal(`Uploaded ${sha256(bytes)} (300000 bytes, qcow2) for image version ${versionId}\n`);
    const again = await home.runInProcess(["image", "upload", versionId, file]);
    expect(again.stdout).to.match(/^Already there:/);
    const other = path.join(home.dir, "other.img");
    fs.writeFileSync(other, Buffer.alloc(1000, 1));
    const refused = await home.runInProcess(["image", "upload", versionId, other]);
    expect(refused.code).to.equal(EXIT.CONFLICT);
    expect(refused.stderr).to.contain("[VERSION_CONTENT_IMMUTABLE]");
    const missing = await home.runInProcess(["image", "upload", versionId, path.join(home.dir, "nope")]);
    expect(missing.code).to.equal(EXIT.USAGE);
  });
});
