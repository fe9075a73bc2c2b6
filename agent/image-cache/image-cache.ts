import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { systemClock, type Clock } from "../../lib/clock/clock.js";
import { gib, SHA256_HEX, type ImageContentRef, type ImageFetch } from "./image-content-ref.js";

// QEMU runs as libvirt-qemu and opens cached images as backing files: world-readable.
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
/** An image ensured this recently is not evicted even if nothing reports it in use yet (overlay not made). */
const DEFAULT_PROTECT_MS = 10 * 60_000;

export class ImageCacheError extends Error {
  override readonly name = "ImageCacheError";
  constructor(
    message: string,
    readonly reason: "TOO_LARGE" | "CACHE_FULL" | "CORRUPT" | "BAD_REF",
  ) {
    super(message);
  }
}

export interface ImageCacheOptions {
  /** Cache directory: `images/<sha256>` complete, `partial/<sha256>` downloads to resume. */
  dir: string;
  /** Size bound of the cache (--image-cache-gb), complete and partial files together. */
  maxBytes: number;
  fetch: ImageFetch;
  /**
   * Whether a cached image is in use (a domain's overlay has it as backing file): such an image is
   * never evicted. Defaults to "no"; images in flight or ensured within `protectMs` are protected anyway.
   */
  isInUse?: (sha256: string, path: string) => boolean | Promise<boolean>;
  clock?: Clock;
  protectMs?: number;
}

interface Entry {
  sha256: string;
  path: string;
  size: number;
  lastUse: number;
  partial: boolean;
}

/**
 * The compute agent's cache of image versions' bytes, keyed by sha256 (spec 000 §6.4: images are
 * fetched once per host). Downloads go to `partial/`, resume from their size, are verified against
 * the sha256 and size of the ref, and are renamed into `images/` only when they match. The cache
 * stays under `maxBytes` by evicting the least recently used images nobody uses; the last use is
 * the file's mtime, so the order survives restarts.
 */
export class ImageCache {
  private readonly inFlight = new Map<string, { promise: Promise<string>; waiters: number; abort: AbortController }>();
  private readonly recentlyEnsured = new Map<string, number>();
  private reserved = 0;
  private spaceLock: Promise<void> = Promise.resolve();
  private readonly clock: Clock;

  private constructor(private readonly options: ImageCacheOptions) {
    this.clock = options.clock ?? systemClock;
  }

  static async open(options: ImageCacheOptions): Promise<ImageCache> {
    for (const sub of ["", "images", "partial"]) {
      await fs.mkdir(path.join(options.dir, sub), { recursive: true, mode: DIR_MODE });
      await fs.chmod(path.join(options.dir, sub), DIR_MODE);
    }
    return new ImageCache(options);
  }

  pathOf(sha256: string): string {
    return path.join(this.options.dir, "images", sha256);
  }

  private partialOf(sha256: string): string {
    return path.join(this.options.dir, "partial", sha256);
  }

  /**
   * The local path of `ref`'s bytes, fetching them when the host lacks them. Concurrent calls for
   * one image share one download; a call whose signal aborts stops waiting, and the download stops
   * when no caller is left (its partial file stays to be resumed).
   */
  async ensureImage(ref: ImageContentRef, signal: AbortSignal): Promise<{ path: string; fetched: boolean }> {
    const sha256 = ref.sha256;
    if (!SHA256_HEX.test(sha256))
      throw new ImageCacheError(`image ${ref.imageVersionId}: sha256 must be 64 lower-case hex digits`, "BAD_REF");
    signal.throwIfAborted();
    this.recentlyEnsured.set(sha256, this.clock.now().getTime());
    const cached = this.pathOf(sha256);
    if (!this.inFlight.has(sha256) && (await sizeOf(cached)) === Number(ref.sizeBytes)) {
      await this.touch(cached);
      return { path: cached, fetched: false };
    }
    let flight = this.inFlight.get(sha256);
    // A download every caller gave up on is still unwinding: let it finish before starting over
    // (two downloads must never append to one partial file).
    while (flight?.abort.signal.aborted) {
      await flight.promise.catch(() => undefined);
      signal.throwIfAborted();
      flight = this.inFlight.get(sha256);
    }
    if (!flight) {
      const abort = new AbortController();
      const promise = this.download(ref, abort.signal).finally(() => this.inFlight.delete(sha256));
      flight = { promise, waiters: 0, abort };
      this.inFlight.set(sha256, flight);
    }
    const shared = flight;
    shared.waiters++;
    try {
      const result = await new Promise<string>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        shared.promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
      });
      this.recentlyEnsured.set(sha256, this.clock.now().getTime());
      return { path: result, fetched: true };
    } finally {
      if (--shared.waiters === 0 && signal.aborted) shared.abort.abort(signal.reason);
    }
  }

  private async download(ref: ImageContentRef, signal: AbortSignal): Promise<string> {
    const { sha256 } = ref;
    const size = Number(ref.sizeBytes);
    const target = this.pathOf(sha256);
    const existing = await sizeOf(target);
    if (existing === size) return target;
    if (existing !== undefined) await fs.rm(target, { force: true }); // wrong size: not what the hub has
    if (size > this.options.maxBytes)
      throw new ImageCacheError(
        `image ${ref.imageVersionId} is ${gib(size)} GiB, larger than the image cache (${gib(this.options.maxBytes)} GiB)`,
        "TOO_LARGE",
      );
    const partial = this.partialOf(sha256);
    let offset = (await sizeOf(partial)) ?? 0;
    if (offset > size) {
      await fs.rm(partial, { force: true });
      offset = 0;
    }
    // The whole size is reserved: an in-flight download's partial file is not counted elsewhere.
    await this.reserve(ref, size);
    try {
      const hash = createHash("sha256");
      if (offset > 0) for await (const c of createReadStream(partial)) hash.update(c as Buffer);
      const file = await fs.open(partial, "a", FILE_MODE);
      let written = offset;
      try {
        for await (const chunk of this.options.fetch(ref, offset, signal)) {
          signal.throwIfAborted();
          written += chunk.byteLength;
          if (written > size) break;
          hash.update(chunk);
          await file.write(chunk);
        }
        await file.sync();
      } finally {
        await file.close();
      }
      const digest = hash.digest("hex");
      if (written !== size || digest !== sha256) {
        await fs.rm(partial, { force: true }); // bad bytes cannot be resumed from
        throw new ImageCacheError(
          written !== size
            ? `image ${ref.imageVersionId}: the hub sent ${written > size ? "more than" : written} bytes, expected ${size}`
            : `image ${ref.imageVersionId}: downloaded bytes have sha256 ${digest}, expected ${sha256}`,
          "CORRUPT",
        );
      }
      await fs.chmod(partial, FILE_MODE);
      await fs.rename(partial, target);
      await this.touch(target);
      return target;
    } finally {
      this.reserved -= size;
    }
  }

  /**
   * Makes room for `needed` more bytes, evicting the least recently used images nobody uses (and
   * partial downloads nobody is resuming).
   */
  private reserve(ref: ImageContentRef, needed: number): Promise<void> {
    const run = this.spaceLock.then(async () => {
      const max = this.options.maxBytes;
      // In-flight downloads are counted by their reservation, not their partial files.
      const files = [...(await this.entries()), ...(await this.entries("partial"))].filter(
        (e) => !(e.partial && this.inFlight.has(e.sha256)),
      );
      let used = files.reduce((n, e) => n + e.size, 0) + this.reserved;
      const candidates = [];
      for (const e of files.sort((a, b) => a.lastUse - b.lastUse)) {
        if (used + needed <= max) break;
        if (await this.isProtected(e)) continue;
        candidates.push(e);
        used -= e.size;
      }
      if (used + needed > max)
        throw new ImageCacheError(
          `image ${ref.imageVersionId} needs ${gib(needed)} GiB but the image cache (${gib(max)} GiB) has only ${gib(Math.max(0, max - used))} GiB free after evicting every image not in use`,
          "CACHE_FULL",
        );
      for (const e of candidates) await fs.rm(e.path, { force: true });
      this.reserved += needed;
    });
    this.spaceLock = run.catch(() => undefined);
    return run;
  }

  private async isProtected(e: Entry): Promise<boolean> {
    if (e.partial) return false;
    if (this.inFlight.has(e.sha256)) return true;
    const ensured = this.recentlyEnsured.get(e.sha256);
    if (ensured !== undefined && this.clock.now().getTime() - ensured < (this.options.protectMs ?? DEFAULT_PROTECT_MS))
      return true;
    return (await this.options.isInUse?.(e.sha256, e.path)) ?? false;
  }

  /** The complete images (or partial downloads) in the cache with their size and last use. */
  async entries(kind: "images" | "partial" = "images"): Promise<Entry[]> {
    const dir = path.join(this.options.dir, kind);
    const out: Entry[] = [];
    for (const name of await fs.readdir(dir)) {
      if (!SHA256_HEX.test(name)) continue;
      const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
      if (st)
        out.push({
          sha256: name,
          path: path.join(dir, name),
          size: st.size,
          lastUse: st.mtimeMs,
          partial: kind === "partial",
        });
    }
    return out;
  }

  private async touch(file: string): Promise<void> {
    const now = this.clock.now();
    await fs.utimes(file, now, now).catch(() => undefined);
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
