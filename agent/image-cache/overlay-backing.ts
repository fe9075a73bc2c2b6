import fs from "node:fs/promises";
import path from "node:path";

const QCOW2_MAGIC = 0x514649fb;
/** The qcow2 header fields read here end at byte 20; a backing file name is at most 1023 bytes. */
const HEADER_BYTES = 20;
const MAX_BACKING_NAME = 1023;

/** The backing file a qcow2 names in its header (resolved against its directory), or undefined. */
export async function qcow2BackingFile(file: string): Promise<string | undefined> {
  const handle = await fs.open(file, "r");
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, HEADER_BYTES, 0);
    if (bytesRead < HEADER_BYTES || header.readUInt32BE(0) !== QCOW2_MAGIC) return undefined;
    const offset = header.readBigUInt64BE(8);
    const size = header.readUInt32BE(16);
    if (offset === 0n || size === 0 || size > MAX_BACKING_NAME) return undefined;
    const name = Buffer.alloc(size);
    await handle.read(name, 0, size, Number(offset));
    return path.resolve(path.dirname(file), name.toString("utf8"));
  } finally {
    await handle.close();
  }
}

/**
 * An ImageCache `isInUse` for a host whose overlays are qcow2 files up to two levels under
 * `instanceDir` (e.g. `<instanceDir>/<domain>/system.qcow2`): a cached image is in use while any
 * overlay names it as its backing file. Read from the overlays' headers at each eviction, so it
 * holds across agent restarts and needs neither libvirt nor qemu-img.
 */
export function backedByOverlaysUnder(instanceDir: string): (sha256: string, imagePath: string) => Promise<boolean> {
  return async (_sha256, imagePath) => {
    const target = path.resolve(imagePath);
    for (const file of await qcow2FilesUnder(instanceDir, 2)) {
      const backing = await qcow2BackingFile(file).catch(() => undefined);
      if (backing === target) return true;
    }
    return false;
  };
}

async function qcow2FilesUnder(dir: string, depth: number): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFile() && e.name.endsWith(".qcow2")) out.push(p);
    else if (e.isDirectory() && depth > 1) out.push(...(await qcow2FilesUnder(p, depth - 1)));
  }
  return out;
}
