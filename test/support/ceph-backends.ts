import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import type { Context } from "mocha";
import { rbdLoadError } from "../../agent/rbd/bindings.js";
import { skipIfHeavySuitesRunElsewhere, skipUnlessBackend } from "./real-backends.js";

/*
 * The Ceph suites' clusters and their independent checks, in one place. API:
 *
 *   plainCluster, cephxCluster: CephCluster — the two clusters of scripts/ceph-dev.sh:
 *     .conf          ceph.conf path (plain's is world-readable: QEMU as libvirt-qemu reads it)
 *     .monHost       "v2:127.0.0.1:3300" (plain) / "v2:127.0.0.1:3301" (cephx)
 *     .monAddress    { host: "127.0.0.1", port: 3300 } (for libvirt <host name port>)
 *     .auth          "none" | "cephx"
 *     .user          the gateway's user ("admin" for plain, "edgehub-disks" for cephx, no "client.")
 *     .keyring       the gateway user's keyring file (cephx only)
 *     .key           the gateway user's bare base64 key file (cephx only; for libvirt secrets)
 *     .adminKeyring  client.admin's keyring (cephx only; the CLI checks use it via the conf)
 *   CEPH_POOLS       { standard: "private-data-disks", ssd: "private-data-disks-ssd",
 *                      nvme: "private-data-disks-nvme" }
 *   requireCeph(ctx, cluster = plainCluster, what)  — in a describe's before(): skips the suite
 *     when CI runs heavy suites in the other pass, then skips LOUDLY (fails under
 *     REQUIRE_REAL_BACKENDS=1) when librbd cannot be loaded or the cluster does not answer.
 *   cephAnswers(cluster): Promise<boolean>
 *   uniqueImageName(prefix = "t"): string — "<prefix>-<8 hex>", safe to create in a shared pool.
 *   The `rbd` CLI as an independent witness (never the agent's bindings):
 *     rbdInfo(cluster, pool, image)   → RbdCliInfo | undefined (undefined = no such image)
 *     rbdSnapLs(cluster, pool, image) → RbdCliSnap[] (name, size, protected)
 *     rbdLs(cluster, pool)            → string[]
 *     rbdChildren(cluster, pool, image, snap) → string[] ("pool/image")
 *     rbdCreate(cluster, pool, image, sizeBytes) — make a fixture image with the CLI
 *     rbdPurge(cluster, pool, image) — cleanup: unprotect+remove every snapshot, remove the image
 *                                      (no error when absent; clones must be purged first)
 *     rbdCli(cluster, args)           → stdout (any other rbd command, conf and keyring applied)
 */

const run = promisify(execFile);

export const CEPH_DEV_ROOT = process.env.EDGEHUB_CEPH_DEV_ROOT ?? "/var/lib/edgehub-ceph-dev";

export const CEPH_POOLS = {
  standard: "private-data-disks",
  ssd: "private-data-disks-ssd",
  nvme: "private-data-disks-nvme",
} as const;

export interface CephCluster {
  name: "plain" | "cephx";
  conf: string;
  monHost: string;
  monAddress: { host: string; port: number };
  auth: "none" | "cephx";
  /** The gateway's cephx user, without "client.". */
  user: string;
  keyring?: string;
  key?: string;
  adminKeyring?: string;
}

export const plainCluster: CephCluster = {
  name: "plain",
  conf: `${CEPH_DEV_ROOT}/plain/ceph.conf`,
  monHost: "v2:127.0.0.1:3300",
  monAddress: { host: "127.0.0.1", port: 3300 },
  auth: "none",
  user: "admin",
};

export const cephxCluster: CephCluster = {
  name: "cephx",
  conf: `${CEPH_DEV_ROOT}/cephx/ceph.conf`,
  monHost: "v2:127.0.0.1:3301",
  monAddress: { host: "127.0.0.1", port: 3301 },
  auth: "cephx",
  user: "edgehub-disks",
  keyring: `${CEPH_DEV_ROOT}/cephx/ceph.client.edgehub-disks.keyring`,
  key: `${CEPH_DEV_ROOT}/cephx/ceph.client.edgehub-disks.key`,
  adminKeyring: `${CEPH_DEV_ROOT}/cephx/ceph.client.admin.keyring`,
};

/** Why librados/librbd cannot be loaded by the agent's bindings, or undefined when they can. */
export const rbdLibraryMissing = (): string | undefined => rbdLoadError?.message;

/** Runs the `rbd` CLI against the cluster as its admin (the conf names the admin keyring). */
export async function rbdCli(cluster: CephCluster, args: string[]): Promise<string> {
  const { stdout } = await run("rbd", ["-c", cluster.conf, "--id", "admin", ...args], {
    timeout: 60_000,
    maxBuffer: 4 << 20,
  });
  return stdout;
}

export async function cephAnswers(cluster: CephCluster): Promise<boolean> {
  if (!existsSync(cluster.conf)) return false;
  try {
    const { stdout } = await run("ceph", ["-c", cluster.conf, "--connect-timeout", "3", "osd", "stat", "-f", "json"], {
      timeout: 10_000,
    });
    return (JSON.parse(stdout) as { num_up_osds?: number }).num_up_osds === 1;
  } catch {
    return false;
  }
}

/** For a describe's before(): skip in CI's other pass, then skip loudly (or fail) without Ceph. */
export async function requireCeph(
  ctx: Context,
  cluster: CephCluster = plainCluster,
  what = "Ceph suite",
): Promise<void> {
  skipIfHeavySuitesRunElsewhere(ctx, what);
  const missing = rbdLibraryMissing();
  skipUnlessBackend(ctx, missing === undefined, missing ?? "");
  skipUnlessBackend(
    ctx,
    await cephAnswers(cluster),
    `Ceph cluster "${cluster.name}" (${cluster.conf}; run scripts/ceph-dev.sh as root)`,
  );
}

export function uniqueImageName(prefix = "t"): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export interface RbdCliInfo {
  name: string;
  size: number;
  features: string[];
  snapshot_count: number;
  parent?: { pool: string; image: string; snapshot: string };
}

export interface RbdCliSnap {
  name: string;
  size: number;
  protected: boolean;
}

function isMissing(err: unknown): boolean {
  const stderr = (err as { stderr?: string }).stderr ?? "";
  return /No such file or directory|error opening image|\(2\)/.test(stderr);
}

export async function rbdInfo(cluster: CephCluster, pool: string, image: string): Promise<RbdCliInfo | undefined> {
  try {
    return JSON.parse(await rbdCli(cluster, ["info", "--format", "json", `${pool}/${image}`])) as RbdCliInfo;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

export async function rbdSnapLs(cluster: CephCluster, pool: string, image: string): Promise<RbdCliSnap[]> {
  const raw = JSON.parse(await rbdCli(cluster, ["snap", "ls", "--format", "json", `${pool}/${image}`])) as {
    name: string;
    size: number;
    protected: string | boolean;
  }[];
  return raw.map((s) => ({ name: s.name, size: s.size, protected: s.protected === true || s.protected === "true" }));
}

export async function rbdLs(cluster: CephCluster, pool: string): Promise<string[]> {
  return JSON.parse(await rbdCli(cluster, ["ls", "--format", "json", pool])) as string[];
}

export async function rbdChildren(cluster: CephCluster, pool: string, image: string, snap: string): Promise<string[]> {
  const raw = JSON.parse(await rbdCli(cluster, ["children", "--format", "json", `${pool}/${image}@${snap}`])) as {
    pool: string;
    image: string;
  }[];
  return raw.map((c) => `${c.pool}/${c.image}`);
}

export async function rbdCreate(cluster: CephCluster, pool: string, image: string, sizeBytes: number): Promise<void> {
  await rbdCli(cluster, ["create", "--size", `${sizeBytes}B`, "--image-feature", "layering", `${pool}/${image}`]);
}

/** Best-effort cleanup for after() hooks: every snapshot unprotected and removed, then the image. */
export async function rbdPurge(cluster: CephCluster, pool: string, image: string): Promise<void> {
  if (!(await rbdInfo(cluster, pool, image))) return;
  for (const s of await rbdSnapLs(cluster, pool, image)) {
    if (s.protected) await rbdCli(cluster, ["snap", "unprotect", `${pool}/${image}@${s.name}`]);
  }
  await rbdCli(cluster, ["snap", "purge", `${pool}/${image}`]);
  await rbdCli(cluster, ["rm", `${pool}/${image}`]);
}
