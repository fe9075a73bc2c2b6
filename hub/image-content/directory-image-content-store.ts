import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "../domain/errors.js";
import {
  SHA256_HEX,
  type ContentRange,
  type ExpectedContent,
  type ImageContentStore,
  type StoredContent,
  type StoredEntry,
} from "./image-content-store.js";

// QEMU (libvirt-qemu) may read these files directly on an all-in-one host: world-readable.
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/**
 * ImageContentStore in a directory: `<dir>/sha256/<first two hex>/<hash>` for content,
 * `<dir>/tmp/` for uploads in flight (emptied at open: anything there is a crashed upload).
 */
export class DirectoryImageContentStore implements ImageContentStore {
  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<DirectoryImageContentStore> {
    const root = path.resolve(dir);
    await fs.mkdir(path.join(root, "sha256"), { recursive: true, mode: DIR_MODE });
    await fs.rm(path.join(root, "tmp"), { recursive: true, force: true });
    await fs.mkdir(path.join(root, "tmp"), { recursive: true, mode: DIR_MODE });
    return new DirectoryImageContentStore(root);
  }

  /** Where the content of `sha256` lives (whether or not it is there). */
  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new InvalidArgumentError("sha256", "must be 64 lower-case hex digits");
    return path.join(this.dir, "sha256", sha256.slice(0, 2), sha256);
  }

  async put(body: AsyncIterable<Uint8Array>, expected: ExpectedContent, signal?: AbortSignal): Promise<StoredContent> {
    const target = this.pathOf(expected.sha256);
    const temp = path.join(this.dir, "tmp", `${expected.sha256}.${randomBytes(6).toString("hex")}`);
    const hash = createHash("sha256");
    let size = 0;
    const file = await fs.open(temp, "wx", FILE_MODE);
    try {
      try {
        for await (const chunk of body) {
          signal?.throwIfAborted();
          size += chunk.byteLength;
          if (size > expected.maxBytes)
            throw new ResourceExhaustedError(`Image content is larger than the limit of ${expected.maxBytes} bytes`, {
              reason: "CONTENT_TOO_LARGE",
              metadata: { max_bytes: String(expected.maxBytes) },
            });
          hash.update(chunk);
          await file.write(chunk);
        }
        signal?.throwIfAborted();
        await file.sync();
      } finally {
        await file.close();
      }
      const actual = hash.digest("hex");
      if (actual !== expected.sha256)
        throw new InvalidArgumentError(
          "sha256",
          `the body's sha256 is ${actual} (${size} bytes), not the declared ${expected.sha256}`,
        );
      const existing = await this.size(expected.sha256);
      if (existing !== undefined) {
        const now = new Date();
        await fs.utimes(target, now, now); // a re-upload counts as new for the sweep's grace period
        return { sha256: actual, sizeBytes: existing, created: false };
      }
      await fs.mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
      await fs.chmod(temp, FILE_MODE); // the umask may have narrowed the open mode
      await fs.rename(temp, target);
      return { sha256: actual, sizeBytes: size, created: true };
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== undefined;
  }

  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await fs.stat(this.pathOf(sha256))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async list(): Promise<StoredEntry[]> {
    const root = path.join(this.dir, "sha256");
    const out: StoredEntry[] = [];
    for (const ab of await fs.readdir(root)) {
      for (const name of await fs.readdir(path.join(root, ab)).catch(() => [])) {
        if (!SHA256_HEX.test(name)) continue;
        const st = await fs.stat(path.join(root, ab, name)).catch(() => undefined);
        if (st) out.push({ sha256: name, sizeBytes: st.size, modifiedAt: st.mtime });
      }
    }
    return out;
  }

  async remove(sha256: string, unlessModifiedAfter?: Date): Promise<boolean> {
    const file = this.pathOf(sha256);
    if (unlessModifiedAfter) {
      const st = await fs.stat(file).catch(() => undefined);
      if (!st || st.mtime > unlessModifiedAfter) return false;
    }
    await fs.rm(file, { force: true });
    return true;
  }

  async openRead(sha256: string, range?: ContentRange): Promise<Readable> {
    const file = this.pathOf(sha256);
    // Open first so a missing file is a NotFoundError here, not an error event later.
    const handle = await fs.open(file, "r").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw new NotFoundError("image content", sha256);
      throw err;
    });
    return createReadStream("", { fd: handle, start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
  }
}
