import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ImageCache, ImageCacheError, type ImageCacheOptions } from "../../agent/image-cache/image-cache.js";
import type { ImageContentRef, ImageFetch } from "../../agent/image-cache/image-content-ref.js";
import { backedByOverlaysUnder, qcow2BackingFile } from "../../agent/image-cache/overlay-backing.js";
import { ManualClock } from "../../lib/clock/clock.js";
import { skipUnlessBackend } from "../support/real-backends.js";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A hub stand-in: serves registered contents from an offset in small chunks and logs each call. */
class FakeHub {
  readonly contents = new Map<string, Buffer>();
  readonly calls: { sha256: string; offset: number }[] = [];
  /** When set, a fetch sends this many bytes and then fails (a broken link). */
  breakAfter: number | undefined;
  /** When set, fetches wait for it once they have sent `pauseAt` bytes, calling `onPause` first. */
  gate: Promise<void> | undefined;
  pauseAt = 0;
  onPause: (() => void) | undefined;

  add(id: string, size: number): ImageContentRef {
    const bytes = randomBytes(size);
    this.contents.set(sha256(bytes), bytes);
    return { imageVersionId: id, sha256: sha256(bytes), sizeBytes: BigInt(size) };
  }

  readonly fetch: ImageFetch = async function* (this: void, ref, offset, signal) {
    const self = hub;
    self.calls.push({ sha256: ref.sha256, offset });
    const bytes = self.contents.get(ref.sha256)!;
    let sent = 0;
    for (let i = offset; i < bytes.length; i += 100) {
      if (self.gate && sent === self.pauseAt) {
        self.onPause?.();
        await self.gate;
      }
      signal.throwIfAborted();
      const chunk = bytes.subarray(i, Math.min(i + 100, bytes.length));
      if (self.breakAfter !== undefined && sent + chunk.length > self.breakAfter) throw new Error("link broke");
      sent += chunk.length;
      yield chunk;
    }
  };
}
let hub: FakeHub;

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("agent image cache", function () {
  let dir: string;
  let clock: ManualClock;
  const signal = new AbortController().signal;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-image-cache-"));
    clock = new ManualClock();
    hub = new FakeHub();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const open = (o: Partial<ImageCacheOptions> = {}) =>
    ImageCache.open({ dir, maxBytes: 3000, fetch: hub.fetch, clock, protectMs: 0, ...o });
  const cachedNames = () => fs.readdirSync(path.join(dir, "images")).sort();
  const partials = () => fs.readdirSync(path.join(dir, "partial"));

  it("fetches a missing image once, verified and world-readable, then serves it from the cache", async () => {
    const cache = await open();
    const a = hub.add("a", 1000);
    const first = await cache.ensureImage(a, signal);
    expect(first.fetched).to.equal(true);
    expect(sha256(fs.readFileSync(first.path))).to.equal(a.sha256);
    expect(fs.statSync(first.path).mode & 0o777).to.equal(0o644);
    expect(fs.statSync(dir).mode & 0o777).to.equal(0o755);
    expect(await cache.ensureImage(a, signal)).to.deep.equal({ path: first.path, fetched: false });
    expect(hub.calls).to.have.length(1);
  });

  it("evicts the least recently used image to make room, by last use rather than by fetch order", async () => {
    const cache = await open();
    const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => hub.add(id, 1000)) as [
      ImageContentRef,
      ImageContentRef,
      ImageContentRef,
      ImageContentRef,
    ];
    for (const ref of [a, b, c]) {
      await cache.ensureImage(ref, signal);
      clock.advance(60_000);
    }
    await cache.ensureImage(a, signal); // a is now the most recently used; b the least
    clock.advance(60_000);
    await cache.ensureImage(d, signal);
    expect(cachedNames()).to.deep.equal([a.sha256, c.sha256, d.sha256].sort());
  });

  it("never evicts an image in use, nor one ensured within the protection window", async () => {
    const inUse = new Set<string>();
    const cache = await open({ isInUse: (sha) => inUse.has(sha), protectMs: 30_000 });
    const [a, b, c] = ["a", "b", "c"].map((id) => hub.add(id, 1000)) as [
      ImageContentRef,
      ImageContentRef,
      ImageContentRef,
    ];
    await cache.ensureImage(a, signal);
    clock.advance(60_000);
    await cache.ensureImage(b, signal);
    inUse.add(a.sha256);
    // b was ensured just now (its overlay may not exist yet) and a is in use: nothing may go.
    const big = hub.add("big", 1500);
    const full = await rejection(cache.ensureImage(big, signal));
    expect(full).to.be.instanceOf(ImageCacheError);
    expect((full as ImageCacheError).reason).to.equal("CACHE_FULL");
    expect(full.message).to.match(/^image big needs .* GiB but the image cache \(.* GiB\) has only .* GiB free/);
    clock.advance(60_000);
    await cache.ensureImage(c, signal); // room for c without evicting (2000 + 1000 ≤ 3000)
    clock.advance(60_000);
    await cache.ensureImage(big, signal); // b is out of its window and unused: it goes, a stays
    expect(cachedNames()).to.include(a.sha256).and.not.include(b.sha256);
  });

  it("keeps an image that a qcow2 overlay under the instance directory is backed by (read from the overlay's header)", async function () {
    skipUnlessBackend(this, spawnSync("qemu-img", ["--version"]).status === 0, "qemu-img (apt-get install qemu-utils)");
    const instanceDir = path.join(dir, "instances");
    const cache = await open({ isInUse: backedByOverlaysUnder(instanceDir) });
    const [a, b, c] = ["a", "b", "c"].map((id) => hub.add(id, 1000)) as [
      ImageContentRef,
      ImageContentRef,
      ImageContentRef,
    ];
    const base = (await cache.ensureImage(a, signal)).path;
    clock.advance(60_000);
    await cache.ensureImage(b, signal);
    clock.advance(60_000);
    const overlay = path.join(instanceDir, "edgehub-vm-1", "system.qcow2");
    fs.mkdirSync(path.dirname(overlay), { recursive: true });
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", overlay]);
    expect(await qcow2BackingFile(overlay)).to.equal(base);
    await cache.ensureImage(c, signal);
    await cache.ensureImage(hub.add("d", 1000), signal); // a is the oldest, but in use: b goes
    expect(cachedNames()).to.include(a.sha256).and.not.include(b.sha256);
  });

  it("refuses an image larger than the whole cache with a reason naming both sizes", async () => {
    const cache = await open({ maxBytes: 2 * 1024 ** 3 });
    const ref: ImageContentRef = { imageVersionId: "v-big", sha256: "ab".repeat(32), sizeBytes: 3n * 1024n ** 3n };
    const err = await rejection(cache.ensureImage(ref, signal));
    expect(err.message).to.equal("image v-big is 3 GiB, larger than the image cache (2 GiB)");
    expect((err as ImageCacheError).reason).to.equal("TOO_LARGE");
    expect(hub.calls).to.have.length(0);
  });

  it("concurrent ensureImage calls for one image share one download", async () => {
    const cache = await open();
    const a = hub.add("a", 2500);
    let open_!: () => void;
    hub.gate = new Promise((r) => (open_ = r));
    const calls = [cache.ensureImage(a, signal), cache.ensureImage(a, signal), cache.ensureImage(a, signal)];
    open_();
    const results = await Promise.all(calls);
    expect(hub.calls).to.have.length(1);
    expect(new Set(results.map((r) => r.path)).size).to.equal(1);
    expect(results.every((r) => r.fetched)).to.equal(true);
  });

  it("resumes a broken download from the bytes it already has", async () => {
    const cache = await open();
    const a = hub.add("a", 2000);
    hub.breakAfter = 700;
    expect((await rejection(cache.ensureImage(a, signal))).message).to.equal("link broke");
    expect(fs.statSync(path.join(dir, "partial", a.sha256)).size).to.equal(700);
    expect(cachedNames()).to.deep.equal([]);
    hub.breakAfter = undefined;
    const done = await cache.ensureImage(a, signal);
    expect(hub.calls.map((c) => c.offset)).to.deep.equal([0, 700]);
    expect(sha256(fs.readFileSync(done.path))).to.equal(a.sha256);
    expect(partials()).to.deep.equal([]);
  });

  it("refuses corrupt bytes (wrong sha256, too many bytes): nothing cached, nothing left to resume from", async () => {
    const cache = await open();
    const a = hub.add("a", 1000);
    const bytes = hub.contents.get(a.sha256)!;
    bytes[500] = bytes[500]! ^ 0xff;
    const corrupt = await rejection(cache.ensureImage(a, signal));
    expect((corrupt as ImageCacheError).reason).to.equal("CORRUPT");
    expect(corrupt.message).to.contain(`expected ${a.sha256}`);
    expect(cachedNames()).to.deep.equal([]);
    expect(partials()).to.deep.equal([]);
    const b = hub.add("b", 1000);
    const short: ImageContentRef = { ...b, sizeBytes: 900n }; // the hub sends more than the ref says
    expect((await rejection(cache.ensureImage(short, signal))).message).to.contain("more than");
    expect(cachedNames()).to.deep.equal([]);
  });

  it("a caller that gives up stops the download when it was the only one waiting; the partial stays", async () => {
    const cache = await open();
    const a = hub.add("a", 2000);
    const giveUp = new AbortController();
    let release!: () => void;
    hub.gate = new Promise((r) => (release = r));
    hub.pauseAt = 500;
    const paused = new Promise<void>((r) => (hub.onPause = r));
    const waiting = cache.ensureImage(a, giveUp.signal);
    await paused;
    giveUp.abort(new Error("command cancelled"));
    expect((await rejection(waiting)).message).to.equal("command cancelled");
    hub.gate = undefined;
    // The next caller waits for the abandoned download to unwind, then resumes from its partial file.
    const next = cache.ensureImage(a, signal);
    release();
    const done = await next;
    expect(hub.calls.map((c) => c.offset)).to.deep.equal([0, 500]);
    expect(sha256(fs.readFileSync(done.path))).to.equal(a.sha256);
  });
});
