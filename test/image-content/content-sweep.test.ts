import { expect } from "chai";
import fs from "node:fs";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { sweepUnreferencedContent } from "../../hub/image-content/content-sweep.js";
import { DirectoryImageContentStore } from "../../hub/image-content/directory-image-content-store.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { fakeQcow2, sha256, storedHashes, uploadContent } from "./upload-support.js";

const HOUR = 3600_000;

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  yield b;
}

describe("image content sweep: unreferenced store files go after a grace period", function () {
  let t: TestHub;
  after(async () => t?.stop());

  it("removes only content no version references and nobody wrote within the grace period", async () => {
    t = await startTestHub();
    const admin = await t.adminToken();
    const api = t.client(ImageService, admin);
    const imageId = (
      await api.createImage({
        image: { name: "sweep", imageType: ImageType.OS_BASE, visibility: ImageVisibility.PUBLIC },
      })
    ).image!.id;
    const versionId = (await api.publishImageVersion({ imageId, versionNumber: "v1.0.0" })).version!.id;
    const used = fakeQcow2(5000);
    expect((await uploadContent(t.baseUrl, versionId, used, { token: admin })).status).to.equal(201);

    const store = await DirectoryImageContentStore.open(t.config.imageStoreDir);
    const orphan = fakeQcow2(3000);
    const fresh = fakeQcow2(2000);
    for (const b of [orphan, fresh]) await store.put(once(b), { sha256: sha256(b), maxBytes: 1 << 20 });
    const now = new Date();
    const old = new Date(now.getTime() - 2 * HOUR);
    for (const b of [used, orphan]) fs.utimesSync(store.pathOf(sha256(b)), old, old);

    const result = await sweepUnreferencedContent({ knex: t.hub.db.knex, store, now, graceMs: HOUR });
    expect(result).to.deep.equal({ removed: [sha256(orphan)], removedBytes: orphan.length });
    expect(storedHashes(t.config.imageStoreDir)).to.deep.equal([sha256(used), sha256(fresh)].sort());

    // Content re-uploaded just now (its row may be about to commit) counts as fresh again.
    const again = fakeQcow2(1000);
    await store.put(once(again), { sha256: sha256(again), maxBytes: 1 << 20 });
    fs.utimesSync(store.pathOf(sha256(again)), old, old);
    expect((await store.put(once(again), { sha256: sha256(again), maxBytes: 1 << 20 })).created).to.equal(false);
    const second = await sweepUnreferencedContent({ knex: t.hub.db.knex, store, now: new Date(), graceMs: HOUR });
    expect(second.removed).to.deep.equal([]);
  });
});
