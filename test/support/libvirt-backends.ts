import { execFile, spawnSync } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { libvirtLoadError } from "../../agent/libvirt/bindings.js";

// What the libvirt suites need and how they check for it, in one place: the library the agent
// loads (test:///default runs inside it), qemu-img for overlays, a libvirtd for real QEMU, the
// bootable test disk, and a VNC peer.

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Why libvirt.so.0 cannot be loaded by the agent's bindings, or undefined when it can. */
export const libvirtLibraryMissing = (): string | undefined => libvirtLoadError?.message;

export function qemuImgAnswers(): boolean {
  return spawnSync("qemu-img", ["--version"], { stdio: "ignore" }).status === 0;
}

/** libvirt's test driver in an agent process: the library and qemu-img for overlays. */
export function libvirtTestDriverUsable(): boolean {
  return libvirtLibraryMissing() === undefined && qemuImgAnswers();
}

export async function libvirtdAnswers(uri: string): Promise<boolean> {
  try {
    await run("virsh", ["-c", uri, "version"], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Builds (or finds cached) the bootable test disk of scripts/build-test-image.sh; its path. */
export async function buildTestImage(dir: string): Promise<string> {
  const { stdout } = await run("bash", [path.join(ROOT, "scripts/build-test-image.sh"), dir], { maxBuffer: 1 << 20 });
  return stdout.trim().split("\n")[0]!;
}

/** The first bytes a VNC server sends ("RFB 003.008\n"). */
export function rfbGreeting(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    s.once("data", (b) => {
      resolve(b.toString("latin1"));
      s.destroy();
    });
    s.once("error", reject);
  });
}
