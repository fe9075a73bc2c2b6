import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DirectoryImageContentStore } from "../../hub/image-content/directory-image-content-store.js";
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "../../hub/domain/errors.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function* chunks(bytes: Buffer, size = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("image content store (directory)", function () {
  let dir: string;
  let store: DirectoryImageContentStore;
  const body = randomBytes(10_000);
  const digest = sha(body);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-image-store-"));
    store = await DirectoryImageContentStore.open(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const tmpFiles = () => fs.readdirSync(path.join(dir, "tmp"));

  it("stores verified content under sha256/<ab>/<hash>, world-readable, and reads it back whole and by range", async () => {
    const stored = await store.put(chunks(body), { sha256: digest, maxBytes: 1 << 20 });
    expect(stored).to.deep.equal({ sha256: digest, sizeBytes: body.length, created: true });
    const file = path.join(dir, "sha256", digest.slice(0, 2), digest);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o644);
    expect(await store.has(digest)).to.equal(true);
    expect(await store.size(digest)).to.equal(body.length);
    expect((await readAll(await store.openRead(digest))).equals(body)).to.equal(true);
    const part = await readAll(await store.openRead(digest, { start: 4096, end: 5000 }));
    expect(part.equals(body.subarray(4096, 5001))).to.equal(true);
    expect(tmpFiles()).to.deep.equal([]);
  });

  it("an identical put is a no-op answering created: false", async () => {
    await store.put(chunks(body), { sha256: digest, maxBytes: 1 << 20 });
    const again = await store.put(chunks(body, 333), { sha256: digest, maxBytes: 1 << 20 });
    expect(again).to.deep.equal({ sha256: digest, sizeBytes: body.length, created: false });
  });

  it("refuses a body whose sha256 differs from the declared one and keeps nothing", async () => {
    const other = sha(Buffer.from("something else"));
    const err = await rejection(store.put(chunks(body), { sha256: other, maxBytes: 1 << 20 }));
    expect(err).to.be.instanceOf(InvalidArgumentError);
    expect(err.message).to.contain(digest).and.contain(other);
    expect(await store.has(other)).to.equal(false);
    expect(await store.has(digest)).to.equal(false);
    expect(tmpFiles()).to.deep.equal([]);
  });

  it("refuses a body over the size limit with CONTENT_TOO_LARGE and keeps nothing", async () => {
    const err = await rejection(store.put(chunks(body), { sha256: digest, maxBytes: body.length - 1 }));
    expect(err).to.be.instanceOf(ResourceExhaustedError);
    expect((err as ResourceExhaustedError).reason).to.equal("CONTENT_TOO_LARGE");
    expect(await store.has(digest)).to.equal(false);
    expect(tmpFiles()).to.deep.equal([]);
  });

  it("a put that fails midway (client gone) leaves nothing, and a repeated put then succeeds", async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield body.subarray(0, 5000);
      throw new Error("connection reset");
    }
    const err = await rejection(store.put(broken(), { sha256: digest, maxBytes: 1 << 20 }));
    expect(err.message).to.equal("connection reset");
    expect(await store.has(digest)).to.equal(false);
    expect(tmpFiles()).to.deep.equal([]);
    expect((await store.put(chunks(body), { sha256: digest, maxBytes: 1 << 20 })).created).to.equal(true);
  });

  it("reading absent content is NotFoundError; a malformed hash is refused before touching the disk", async () => {
    expect(await rejection(store.openRead(digest))).to.be.instanceOf(NotFoundError);
    expect(await store.size(digest)).to.equal(undefined);
    expect(() => store.pathOf("../../etc/passwd")).to.throw(InvalidArgumentError);
  });

  it("opening the store discards uploads a crash left in tmp/", async () => {
    fs.writeFileSync(path.join(dir, "tmp", "leftover"), "partial");
    await DirectoryImageContentStore.open(dir);
    expect(tmpFiles()).to.deep.equal([]);
  });
});
