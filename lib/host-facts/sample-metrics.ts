import os from "node:os";
import si from "systeminformation";
import type { Clock } from "../clock/clock.js";
import { systemClock } from "../clock/clock.js";
import type { DiskUsage, GpuFacts, GpuSample, HostMetricsSample } from "./host-facts.js";
import { gpuSampleOf } from "./parse-nvidia-smi-csv.js";
import { NvidiaSmiError, queryGpus, type QueryGpusOptions } from "./query-gpus.js";

export interface SampleMetricsOptions {
  clock?: Clock;
  gpus?: QueryGpusOptions;
  /** The GPUs of the inventory: when nvidia-smi fails they are reported in error, not as gone. */
  expectedGpus?: readonly GpuFacts[];
}

// Pseudo and read-only file systems say nothing about the host's free space.
const IGNORED_FS_TYPES = /^(tmpfs|devtmpfs|overlay|squashfs|iso9660|proc|sysfs|cgroup2?|nsfs|efivarfs|ramfs)$/i;

/**
 * One measurement of the host. CPU % and network rates are since the previous call
 * (systeminformation keeps the previous counters), so the first sample of a process reads low.
 */
export async function sampleMetrics(options: SampleMetricsOptions = {}): Promise<HostMetricsSample> {
  const clock = options.clock ?? systemClock;
  const [load, mem, fs, net, gpus] = await Promise.all([
    si.currentLoad(),
    si.mem(),
    si.fsSize().catch(() => []),
    si.networkStats("*").catch(() => []),
    sampleGpus(options),
  ]);
  const [load1, load5, load15] = os.loadavg() as [number, number, number];
  const seen = new Set<string>();
  const disks: DiskUsage[] = [];
  for (const f of fs) {
    if (IGNORED_FS_TYPES.test(f.type) || f.size <= 0 || seen.has(f.mount)) continue;
    seen.add(f.mount);
    disks.push({ mount: f.mount, usedBytes: f.used, totalBytes: f.size });
  }
  const physical = net.filter((n) => n.iface !== "lo");
  return {
    sampledAt: clock.now(),
    cpuUtilizationPercent: finite(load.currentLoad),
    load1,
    load5,
    load15,
    memoryTotalBytes: mem.total,
    memoryAvailableBytes: mem.available,
    disks,
    networkRxBytesPerSecond: physical.reduce((s, n) => s + finite(n.rx_sec), 0),
    networkTxBytesPerSecond: physical.reduce((s, n) => s + finite(n.tx_sec), 0),
    gpus,
  };
}

async function sampleGpus(options: SampleMetricsOptions): Promise<GpuSample[]> {
  try {
    return (await queryGpus(options.gpus)).map(gpuSampleOf);
  } catch (err) {
    if (!(err instanceof NvidiaSmiError)) throw err;
    return (options.expectedGpus ?? []).map((g) => ({ index: g.index, uuid: g.uuid, error: true }));
  }
}

function finite(n: number | null | undefined): number {
  return typeof n === "number" && Number.isFinite(n) ? n : 0;
}
