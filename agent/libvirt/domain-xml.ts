import { GraphicsProtocol, type DomainSpec } from "../../gen/edgehub/common/v1/compute_pb.js";

/** The namespace of edgehub's element in a domain's `<metadata>`. */
export const EDGEHUB_METADATA_NS = "https://edgehub.dev/xmlns/libvirt/domain/1";

/** Hypervisor: `kvm` in production, `qemu` (TCG) where KVM is unusable, `test` for libvirt's test driver. */
export type DomainType = "kvm" | "qemu" | "test";

export interface DomainXmlOptions {
  type: DomainType;
  /** The instance's qcow2 overlay (system disk). */
  overlayPath: string;
  /** Where the serial console is written. */
  serialLogPath: string;
}

export class DomainSpecError extends Error {
  override readonly name = "DomainSpecError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`Invalid domain spec: ${field}: ${message}`);
  }
}

export function xmlEscape(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Domain names become file names under the instance directory: no separators, no dot-dot.
export const DOMAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export interface PciAddress {
  domain: number;
  bus: number;
  slot: number;
  function: number;
}

/** Parses nvidia-smi's "00000000:65:00.0" or lspci's "0000:65:00.0". */
export function parsePciAddress(address: string): PciAddress {
  const m = /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/i.exec(address.trim());
  if (!m) throw new DomainSpecError("gpus.address", `"${address}" is not a PCI address like 0000:65:00.0`);
  const domain = parseInt(m[1]!, 16);
  if (domain > 0xffff) throw new DomainSpecError("gpus.address", `PCI domain of "${address}" exceeds 0xffff`);
  return { domain, bus: parseInt(m[2]!, 16), slot: parseInt(m[3]!, 16), function: parseInt(m[4]!, 16) };
}

const hex = (n: number, width: number) => `0x${n.toString(16).padStart(width, "0")}`;

export function validateDomainSpec(spec: DomainSpec): void {
  if (!DOMAIN_NAME.test(spec.name)) throw new DomainSpecError("name", `"${spec.name}" is not a valid domain name`);
  if (!UUID.test(spec.uuid)) throw new DomainSpecError("uuid", `"${spec.uuid}" is not a UUID`);
  if (spec.vcpus < 1) throw new DomainSpecError("vcpus", "must be at least 1");
  if (spec.memoryMib < 1n) throw new DomainSpecError("memory_mib", "must be at least 1");
  if (!spec.systemDisk?.image) throw new DomainSpecError("system_disk.image", "is required");
  for (const g of spec.gpus) parsePciAddress(g.address);
}

function graphicsXml(spec: DomainSpec): string {
  const g = spec.graphics;
  if (!g || g.protocol === GraphicsProtocol.UNSPECIFIED) return "";
  const type = g.protocol === GraphicsProtocol.SPICE ? "spice" : "vnc";
  const listen = g.listen || "127.0.0.1";
  // An empty password would let anyone in: a random one nobody knows refuses every client instead.
  const passwd = g.password || crypto.randomUUID();
  return (
    `    <graphics type='${type}' autoport='yes' listen='${xmlEscape(listen)}' passwd='${xmlEscape(passwd)}'>\n` +
    `      <listen type='address' address='${xmlEscape(listen)}'/>\n` +
    `    </graphics>\n`
  );
}

/** The libvirt domain XML for a spec; every value from the spec is escaped. */
export function buildDomainXml(spec: DomainSpec, options: DomainXmlOptions): string {
  validateDomainSpec(spec);
  const e = xmlEscape;
  const nic =
    spec.network === "none"
      ? ""
      : `    <interface type='network'>\n      <source network='${e(spec.network || "default")}'/>\n` +
        `      <model type='virtio'/>\n    </interface>\n`;
  const gpus = spec.gpus
    .map((g) => {
      const a = parsePciAddress(g.address);
      return (
        `    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n` +
        `        <address domain='${hex(a.domain, 4)}' bus='${hex(a.bus, 2)}' slot='${hex(a.slot, 2)}' function='${hex(a.function, 1)}'/>\n` +
        `      </source>\n    </hostdev>\n`
      );
    })
    .join("");
  return (
    `<domain type='${options.type}'>\n` +
    `  <name>${e(spec.name)}</name>\n` +
    `  <uuid>${e(spec.uuid.toLowerCase())}</uuid>\n` +
    `  <metadata>\n` +
    `    <edgehub:instance xmlns:edgehub='${EDGEHUB_METADATA_NS}' id='${e(spec.instanceId)}'/>\n` +
    `  </metadata>\n` +
    `  <memory unit='MiB'>${spec.memoryMib}</memory>\n` +
    `  <vcpu>${spec.vcpus}</vcpu>\n` +
    `  <os>\n    <type>hvm</type>\n    <boot dev='hd'/>\n  </os>\n` +
    // ACPI: the power button (graceful shutdown) and device hotplug need it.
    `  <features>\n    <acpi/>\n  </features>\n` +
    `  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n` +
    `  <devices>\n` +
    `    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n` +
    `      <source file='${e(options.overlayPath)}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n` +
    nic +
    gpus +
    graphicsXml(spec) +
    `    <serial type='file'>\n      <source path='${e(options.serialLogPath)}'/>\n      <target port='0'/>\n    </serial>\n` +
    `    <memballoon model='virtio'/>\n` +
    `  </devices>\n` +
    `</domain>\n`
  );
}

/** A `<graphics>` element that sets a one-time password valid until `validUntil` (virDomainUpdateDeviceFlags). */
export function graphicsPasswordXml(
  current: { type: string; listen: string; port: number; autoport: boolean },
  password: string,
  validUntil: Date | undefined,
): string {
  const e = xmlEscape;
  const port = current.autoport ? "" : ` port='${current.port}'`;
  const until = validUntil ? ` passwdValidTo='${validUntil.toISOString().replace(/\.\d{3}Z$/, "")}'` : "";
  return (
    `<graphics type='${e(current.type)}'${port} autoport='${current.autoport ? "yes" : "no"}' listen='${e(current.listen)}'` +
    ` passwd='${e(password)}'${until}>\n  <listen type='address' address='${e(current.listen)}'/>\n</graphics>`
  );
}
