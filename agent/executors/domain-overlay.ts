import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { ImageContentFormat, type ImageContentRef } from "../../gen/edgehub/common/v1/compute_pb.js";
import { DOMAIN_NAME } from "../libvirt/domain-xml.js";

const run = promisify(execFile);

/** The image cache (agent/image-cache): the path of a verified local copy of the image version. */
export type EnsureImage = (ref: ImageContentRef, signal: AbortSignal) => Promise<{ path: string; fetched: boolean }>;

/** Until the image cache is wired, define and prepare fail plainly instead of pretending. */
export const imageCacheUnavailable: EnsureImage = async () => {
  throw new Error("Cannot prepare the image: image cache not available on this agent");
};

/** Where a domain's files live: `<instanceDir>/<name>/system.qcow2` and `serial.log`. */
export function instanceFiles(instanceDir: string, name: string): { dir: string; overlay: string; serialLog: string } {
  // The name becomes a directory: refuse separators and dot-dot before any path is built.
  if (!DOMAIN_NAME.test(name)) throw new Error(`Invalid domain name "${name}"`);
  const dir = path.join(instanceDir, name);
  return { dir, overlay: path.join(dir, "system.qcow2"), serialLog: path.join(dir, "serial.log") };
}

export function imageFormat(ref: ImageContentRef): "qcow2" | "raw" {
  if (ref.format === ImageContentFormat.RAW) return "raw";
  if (ref.format === ImageContentFormat.QCOW2) return "qcow2";
  throw new Error(`Image version ${ref.imageVersionId} has no content format (qcow2 or raw)`);
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/**
 * Creates the instance's qcow2 overlay on the cached base unless it exists: written under a
 * temporary name and renamed, so a crash never leaves a half-made overlay behind as "present".
 * The overlay is never smaller than the base image.
 */
export async function ensureOverlay(
  files: { dir: string; overlay: string },
  base: { path: string; format: "qcow2" | "raw" },
  sizeGb: bigint,
  signal: AbortSignal,
): Promise<boolean> {
  if (await exists(files.overlay)) return false;
  // QEMU runs as libvirt-qemu: the directory must be searchable by it.
  await fs.mkdir(files.dir, { recursive: true, mode: 0o755 });
  let size: string[] = [];
  if (sizeGb > 0n) {
    const { stdout } = await run("qemu-img", ["info", "--output=json", "-f", base.format, base.path], { signal });
    const baseBytes = BigInt((JSON.parse(stdout) as { "virtual-size": number })["virtual-size"]);
    if (sizeGb * 1024n ** 3n > baseBytes) size = [`${sizeGb}G`];
  }
  const tmp = `${files.overlay}.${process.pid}.tmp`;
  try {
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base.path, "-F", base.format, tmp, ...size], {
      signal,
    });
    await fs.rename(tmp, files.overlay);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return true;
}

/** Removes the domain's overlay, serial log and directory (undefine); absent files are fine. */
export async function removeInstanceFiles(files: { dir: string; overlay: string; serialLog: string }): Promise<void> {
  await fs.rm(files.overlay, { force: true });
  await fs.rm(files.serialLog, { force: true });
  await fs.rm(files.dir, { recursive: true, force: true });
}
