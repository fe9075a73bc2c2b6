import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { RbdClusterAccess } from "../../gen/edgehub/common/v1/rbd_pb.js";
import { rbdClientConf } from "../libvirt/rbd-disk-xml.js";

/**
 * Writes the Ceph client configuration QEMU reads for a cluster's disks, once per distinct content
 * (the file is named by its hash, so two clusters never share one and a rewrite is never needed).
 * QEMU runs as libvirt-qemu: the directory and file are world-readable (no secrets in them; cephx
 * keys live in libvirt secrets).
 */
export async function ensureRbdClientConf(dir: string, cluster: RbdClusterAccess): Promise<string> {
  const text = rbdClientConf({ monHosts: cluster.monHosts, authNone: cluster.secretUuid === "" });
  const file = path.join(dir, `${createHash("sha256").update(text).digest("hex").slice(0, 16)}.conf`);
  const existing = await fs.readFile(file, "utf8").catch(() => undefined);
  if (existing === text) return file;
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  await fs.chmod(dir, 0o755);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, text, { mode: 0o644 });
  await fs.rename(tmp, file);
  return file;
}
