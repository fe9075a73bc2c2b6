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
  /**
   * Compute agents: the directory instance disks live in. When the host shows no block devices (a
   * container, some VMs), its filesystem is reported as the host's storage instead of nothing, so
   * the machine's storage_gb is what instances can actually use there.
   */
  storagePath?: string;
}

/** The filesystem `dir` is (or will be) on: the nearest existing ancestor's. */
async function filesystemOf(dir: string): Promise<HostDisk | undefined> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      const st = await fs.promises.statfs(d);
      return { name: dir, sizeBytes: st.blocks * st.bsize, type: "unknown" };
    } catch {
      if (d === path.dirname(d)) return undefined;
    }
  }
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
  const blockDevices = disks.map((d): HostDisk => ({
    name: path.basename(d.device || d.name),
    sizeBytes: d.size,
    type: diskType(d.type, d.interfaceType),
  }));
  const storageFs =
    blockDevices.length === 0 && options.storagePath ? await filesystemOf(options.storagePath) : undefined;
  return {
    hostname: osInfo.hostname,
    cpu: { model: `${cpu.manufacturer} ${cpu.brand}`.trim(), cores: cpu.physicalCores, threads: cpu.cores },
    memoryTotalBytes: mem.total,
    disks: storageFs ? [storageFs] : blockDevices,
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
