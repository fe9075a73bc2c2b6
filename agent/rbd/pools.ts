import { callAsync, fn, koffi } from "./bindings.js";
import { check, type CephLink, type RadosCluster } from "./cluster.js";

export interface RbdPoolUsage {
  name: string;
  usedBytes: bigint;
  availableBytes: bigint;
  objectCount: bigint;
}

/**
 * "v2:10.0.0.1:3300,[v2:10.0.0.2:3300,v1:10.0.0.2:6789]" → ["v2:10.0.0.1:3300",
 * "[v2:10.0.0.2:3300,v1:10.0.0.2:6789]"]: one entry per monitor, in Ceph's own syntax, so a compute
 * host's client conf (`mon host = a,b`) reaches each one over the protocol it really speaks.
 */
export function monHostsOf(monHost: string): string[] {
  const hosts: string[] = [];
  for (const m of monHost.matchAll(/\[[^\]]*\]|[^,;\s[\]]+/g)) {
    const entry = m[0].replace(/\s+/g, "");
    if (entry !== "[]" && !hosts.includes(entry)) hosts.push(entry);
  }
  return hosts;
}

/** One mon command's JSON answer (the mon's reply buffers freed here). */
async function monCommand(c: RadosCluster, h: bigint, cmd: object): Promise<unknown> {
  const outbuf: unknown[] = [null];
  const outlen = [0];
  const outs: unknown[] = [null];
  const outslen = [0];
  const text = JSON.stringify(cmd);
  const rc = await callAsync<number>(fn.rados_mon_command, h, [text], 1, null, 0, outbuf, outlen, outs, outslen);
  const read = (p: unknown, n: number) =>
    p && n > 0 ? Buffer.from(koffi.decode(p, koffi.array("uint8_t", n)) as number[]).toString("utf8") : "";
  const body = read(outbuf[0], Number(outlen[0]));
  const status = read(outs[0], Number(outslen[0]));
  if (outbuf[0]) fn.rados_buffer_free(outbuf[0]);
  if (outs[0]) fn.rados_buffer_free(outs[0]);
  check(rc, "mon command", `${(cmd as { prefix: string }).prefix}${status ? ` (${status})` : ""}`, c.where);
  return JSON.parse(body);
}

async function poolSizes(c: RadosCluster, h: bigint): Promise<Map<string, number>> {
  const dump = (await monCommand(c, h, { prefix: "osd dump", format: "json" })) as {
    pools?: { pool_name: string; size: number }[];
  };
  return new Map((dump.pools ?? []).map((p) => [p.pool_name, p.size]));
}

/** The cluster's pools and what librados reports of their usage (zeros on a cluster without a mgr). */
export async function poolUsage(link: CephLink): Promise<RbdPoolUsage[]> {
  return link.run(async (c, h) => {
    let size = 4096;
    let buf = Buffer.alloc(size);
    let rc = await callAsync<number>(fn.rados_pool_list, h, buf, size);
    check(rc, "list pools", "", c.where);
    if (rc > size) {
      size = rc;
      buf = Buffer.alloc(size);
      check(await callAsync<number>(fn.rados_pool_list, h, buf, size), "list pools", "", c.where);
    }
    const names = buf.toString("utf8", 0, Math.min(rc, size)).split("\0").filter(Boolean);
    const cluster = [{}] as Record<string, number | bigint>[];
    check(await callAsync<number>(fn.rados_cluster_stat, h, cluster), "cluster stat", "", c.where);
    const availKb = BigInt(cluster[0]!.kb_avail ?? 0);
    // What a client can still write to a pool: the raw free space over the pool's replica count.
    const sizes = await poolSizes(c, h);
    const pools: RbdPoolUsage[] = [];
    for (const name of names) {
      const io = await c.ioctx(name);
      const stat = [{}] as Record<string, number | bigint>[];
      check(await callAsync<number>(fn.rados_ioctx_pool_stat, io, stat), "pool stat", name, c.where);
      const s = stat[0]!;
      pools.push({
        name,
        usedBytes: BigInt(s.num_bytes ?? 0),
        availableBytes: (availKb * 1024n) / BigInt(Math.max(1, sizes.get(name) ?? 1)),
        objectCount: BigInt(s.num_objects ?? 0),
      });
    }
    return pools;
  });
}

/** How clients reach the cluster: its mon hosts, and the cephx user ("" when auth is none). */
export function clusterAccess(link: CephLink): Promise<{ monHosts: string[]; authUser: string }> {
  return link.run(async (c) => {
    const cephx = c.confGet("auth_client_required").includes("cephx");
    return {
      monHosts: monHostsOf(c.confGet("mon_host")),
      authUser: cephx ? link.options.user.replace(/^client\./, "") : "",
    };
  });
}
