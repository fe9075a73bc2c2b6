import { xmlEscape } from "./domain-xml.js";

/** An RBD data disk as the compute agent hands it to libvirt (rbd.proto AttachDiskPayload). */
export interface RbdDiskSpec {
  pool: string;
  image: string;
  /** Guest device, vdb…vdz (vda is the system disk). */
  targetDev: string;
  readOnly: boolean;
  shareable: boolean;
  /** The Ceph client configuration QEMU reads (rbdClientConf): mon hosts and fail-fast timeouts. */
  clientConfPath: string;
  /** cephx user and the libvirt secret holding its key; both "" with auth none. */
  authUser: string;
  secretUuid: string;
}

export class RbdDiskSpecError extends Error {
  override readonly name = "RbdDiskSpecError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`Invalid RBD disk: ${field}: ${message}`);
  }
}

// Pool and image names go into `pool/image`: Ceph's own character set, no separators of libvirt's.
const RBD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const DATA_DISK_TARGET = /^vd[b-z]$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validateRbdDisk(d: RbdDiskSpec): void {
  if (!RBD_NAME.test(d.pool)) throw new RbdDiskSpecError("image.pool", `"${d.pool}" is not a pool name`);
  if (!RBD_NAME.test(d.image)) throw new RbdDiskSpecError("image.image", `"${d.image}" is not an image name`);
  if (!DATA_DISK_TARGET.test(d.targetDev))
    throw new RbdDiskSpecError("target_dev", `"${d.targetDev}" is not a data disk device (vdb…vdz)`);
  if (d.secretUuid && !UUID.test(d.secretUuid))
    throw new RbdDiskSpecError("cluster.secret_uuid", `"${d.secretUuid}" is not a UUID`);
  if (d.secretUuid && !d.authUser) throw new RbdDiskSpecError("cluster.auth_user", "is required with a secret");
}

/**
 * The `<disk type='network'>` element of one RBD data disk. The monitors are not given as `<host>`
 * elements: QEMU would pass them to librados as bare `host:port`, which librados reads as msgr v1
 * on any port but 3300, while the client conf keeps Ceph's own `v2:` syntax. The conf also carries
 * the fail-fast timeouts, so an unreachable cluster fails the attach in seconds instead of holding
 * the domain lock for librados' default 300 s.
 */
export function rbdDiskXml(d: RbdDiskSpec): string {
  validateRbdDisk(d);
  const e = xmlEscape;
  const auth = d.secretUuid
    ? `  <auth username='${e(d.authUser)}'>\n    <secret type='ceph' uuid='${e(d.secretUuid)}'/>\n  </auth>\n`
    : "";
  return (
    `<disk type='network' device='disk'>\n` +
    `  <driver name='qemu' type='raw' cache='none'/>\n` +
    auth +
    `  <source protocol='rbd' name='${e(d.pool)}/${e(d.image)}'>\n` +
    `    <config file='${e(d.clientConfPath)}'/>\n` +
    `  </source>\n` +
    `  <target dev='${e(d.targetDev)}' bus='virtio'/>\n` +
    (d.readOnly ? `  <readonly/>\n` : "") +
    (d.shareable ? `  <shareable/>\n` : "") +
    `</disk>\n`
  );
}

/** A `<disk>` element reduced to the target: what detach needs libvirt to find the device. */
export function diskTargetXml(targetDev: string): string {
  if (!DATA_DISK_TARGET.test(targetDev))
    throw new RbdDiskSpecError("target_dev", `"${targetDev}" is not a data disk device (vdb…vdz)`);
  return `<disk type='network' device='disk'>\n  <target dev='${targetDev}' bus='virtio'/>\n</disk>\n`;
}

/** The Ceph client configuration for one cluster (written by the agent, read by QEMU). */
export function rbdClientConf(c: { monHosts: readonly string[]; authNone: boolean }): string {
  if (c.monHosts.length === 0) throw new RbdDiskSpecError("cluster.mon_hosts", "at least one monitor is required");
  for (const h of c.monHosts)
    if (!/^[\w.:[\],/-]+$/.test(h)) throw new RbdDiskSpecError("cluster.mon_hosts", `"${h}" is not a monitor address`);
  return (
    `# Written by the edgehub compute agent for QEMU's RBD data disks.\n[global]\n` +
    `mon host = ${c.monHosts.join(",")}\n` +
    // Fail fast: librados waits 300 s for monitors by default, with the domain lock held.
    `client mount timeout = 5\nrados mon op timeout = 10\n` +
    (c.authNone ? `auth cluster required = none\nauth service required = none\nauth client required = none\n` : "") +
    `log to stderr = false\nlog file = /dev/null\n`
  );
}

/** One `<disk>` of a domain's XML as libvirt serialises it. */
export interface DomainDisk {
  targetDev: string;
  /** `pool/image` for RBD disks, the file path for file disks. */
  source: string;
  protocol: string;
  readOnly: boolean;
}

/** Every `<disk>` of a domain XML (libvirt's own serialisation, not arbitrary XML). */
export function domainDisks(xml: string): DomainDisk[] {
  const out: DomainDisk[] = [];
  for (const m of xml.matchAll(/<disk\s[^>]*>([\s\S]*?)<\/disk>/g)) {
    const body = m[1]!;
    const target = /<target\s[^>]*dev=['"]([^'"]+)['"]/.exec(body)?.[1] ?? "";
    const src = /<source\s([^>]*)>/.exec(body)?.[1] ?? "";
    const attr = (n: string) => new RegExp(`${n}=['"]([^'"]*)['"]`).exec(src)?.[1] ?? "";
    out.push({
      targetDev: target,
      source: attr("name") || attr("file"),
      protocol: attr("protocol"),
      readOnly: /<readonly\s*\/>/.test(body),
    });
  }
  return out;
}
