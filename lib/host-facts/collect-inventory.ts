import fs from "node:fs";
import path from "node:path";
import si from "systeminformation";
import type { GpuFacts, HostDisk, HostInventory, HostNic } from "./host-facts.js";
import { gpuFactsOf } from "./parse-nvidia-smi-csv.js";
import { NvidiaSmiError, queryGpus, type QueryGpusOptions } from "./query-gpus.js";

export interface CollectInventoryOptions {
  gpus?: QueryGpusOptions;
  /** Where to look for virsh / the libvirt socket (tests); the real paths by default. */
  hypervisorProbe?: () => string;
}

/** The host facts an agent sends in Hello, read with systeminformation and nvidia-smi. */
export async function collectInventory(options: CollectInventoryOptions = {}): Promise<HostInventory> {
  const [cpu, mem, osInfo, disks, nics, gpus] = await Promise.all([
    si.cpu(),
    si.mem(),
    si.osInfo(),
    si.diskLayout().catch(() => []),
    si.networkInterfaces().catch(() => []),
    inventoryGpus(options.gpus),
  ]);
  return {
    hostname: osInfo.hostname,
    cpu: { model: `${cpu.manufacturer} ${cpu.brand}`.trim(), cores: cpu.physicalCores, threads: cpu.cores },
    memoryTotalBytes: mem.total,
    disks: disks.map((d): HostDisk => ({
      name: path.basename(d.device || d.name),
      sizeBytes: d.size,
      type: diskType(d.type, d.interfaceType),
    })),
    nics: (Array.isArray(nics) ? nics : [nics])
      .filter((n) => !n.internal)
      .map((n): HostNic => ({
        name: n.iface,
        mac: n.mac,
        ipv4: n.ip4,
        speedMbps: Math.max(0, Math.round(n.speed ?? 0)),
      })),
    os: {
      platform: osInfo.platform,
      distro: osInfo.distro,
      release: osInfo.release,
      kernel: osInfo.kernel,
      arch: osInfo.arch,
    },
    hypervisorType: (options.hypervisorProbe ?? detectHypervisor)(),
    gpus,
  };
}

async function inventoryGpus(options: QueryGpusOptions | undefined): Promise<GpuFacts[]> {
  try {
    return (await queryGpus(options)).map(gpuFactsOf);
  } catch (err) {
    // A broken driver at start-up: report no GPUs rather than no Hello; metrics will keep trying.
    if (err instanceof NvidiaSmiError) return [];
    throw err;
  }
}

function diskType(type: string, interfaceType: string): string {
  if (/nvme/i.test(interfaceType)) return "nvme";
  if (/ssd/i.test(type)) return "ssd";
  if (/hd/i.test(type)) return "hdd";
  return "unknown";
}

const LIBVIRT_MARKERS = [
  "/var/run/libvirt/libvirt-sock",
  "/run/libvirt/libvirt-sock",
  "/usr/bin/virsh",
  "/usr/sbin/libvirtd",
];

/** "kvm" when libvirt is installed (virsh or the daemon socket), "none" otherwise; the agent drives VMs only through libvirt. */
export function detectHypervisor(markers: readonly string[] = LIBVIRT_MARKERS): string {
  return markers.some((m) => fs.existsSync(m)) ? "kvm" : "none";
}
