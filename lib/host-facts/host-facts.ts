// Plain domain types for what an agent knows about its host. The wire form lives in gen/
// (edgehub.fleet.v1.Inventory / MetricsSample); host-facts-proto.ts maps between the two so the
// hub's stores and rules only ever see these types.

export type GpuStatus = "ok" | "error";

/** A GPU as the inventory describes it (static facts plus whether nvidia-smi could read it). */
export interface GpuFacts {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMib: number;
  /** e.g. "8.0"; empty when the driver does not say. */
  computeCapability: string;
  status: GpuStatus;
  /** Why the GPU is in error ("GPU is lost", "ERR! in temperature.gpu"); empty when ok. */
  statusDetail: string;
  /** PCI bus id as nvidia-smi prints it ("00000000:17:00.0"); empty when unknown. */
  pciBusId: string;
}

export interface HostDisk {
  name: string;
  sizeBytes: number;
  /** "ssd", "hdd", "nvme" or "unknown". */
  type: string;
}

export interface HostNic {
  name: string;
  mac: string;
  ipv4: string;
  /** Mbit/s; 0 when unknown. */
  speedMbps: number;
}

export interface HostOs {
  platform: string;
  distro: string;
  release: string;
  kernel: string;
  arch: string;
}

/** The facts an agent sends in Hello. */
export interface HostInventory {
  hostname: string;
  cpu: { model: string; cores: number; threads: number };
  memoryTotalBytes: number;
  disks: HostDisk[];
  nics: HostNic[];
  os: HostOs;
  /** "kvm" when libvirt is present, "none" otherwise. */
  hypervisorType: string;
  gpus: GpuFacts[];
}

export interface DiskUsage {
  mount: string;
  usedBytes: number;
  totalBytes: number;
}

/** One GPU's readings in a sample; a field is undefined when nvidia-smi gave no number for it. */
export interface GpuSample {
  index: number;
  uuid: string;
  utilizationPercent?: number;
  memoryUsedMib?: number;
  memoryTotalMib?: number;
  temperatureCelsius?: number;
  powerDrawWatts?: number;
  error: boolean;
}

/** One libvirt domain's cumulative counters in a compute agent's sample (since the domain started). */
export interface DomainSample {
  name: string;
  uuid: string;
  /** libvirt's state, lowercase (running, paused, shutoff, …). */
  state: string;
  cpuTimeNs: number;
  vcpus: number;
  memoryMaxKib: number;
  memoryUsedKib: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  netRxBytes: number;
  netTxBytes: number;
}

/** One periodic measurement of a host. */
export interface HostMetricsSample {
  sampledAt: Date;
  cpuUtilizationPercent: number;
  load1: number;
  load5: number;
  load15: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  disks: DiskUsage[];
  networkRxBytesPerSecond: number;
  networkTxBytesPerSecond: number;
  gpus: GpuSample[];
  /** Compute agents: every domain on the host; absent elsewhere. */
  domains?: DomainSample[];
}
