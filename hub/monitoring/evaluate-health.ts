import type { HostMetricsSample } from "../../lib/host-facts/host-facts.js";

/** Spec 000 §1.3 health_status; "unknown" (before the first report) is the absence of an evaluation. */
export type HealthStatus = "healthy" | "warning" | "critical";

export interface HealthEvaluation {
  status: HealthStatus;
  /** One sentence per rule broken, worst first; empty when healthy. */
  reasons: string[];
}

/**
 * Thresholds. The warning levels are the spec's (003 §2.2 / 004 §4.3: disk free < 10 %, memory
 * available < 5 %, GPU > 85 °C, GPU not answering). The spec names no second level; the critical
 * ones are ours: half the disk margin (writes fail within hours), 2 % memory (the OOM killer is
 * next), 95 °C (NVIDIA data-centre GPUs start hardware slowdown around there). A limit is crossed
 * only strictly: exactly 10 % free disk is still healthy.
 */
export const HEALTH_THRESHOLDS = Object.freeze({
  diskFreeWarningPercent: 10,
  diskFreeCriticalPercent: 5,
  memoryAvailableWarningPercent: 5,
  memoryAvailableCriticalPercent: 2,
  gpuTemperatureWarningCelsius: 85,
  gpuTemperatureCriticalCelsius: 95,
});

const RANK: Record<HealthStatus, number> = { healthy: 0, warning: 1, critical: 2 };
// Rounded down, so a value just below a limit never prints as the limit itself ("5.0 % (below 5 %)").
const pct = (n: number): string => `${(Math.floor(n * 10) / 10).toFixed(1)} %`;

/** Judges one sample against the health rules. Pure: the same sample always gives the same answer. */
export function evaluateHealth(sample: HostMetricsSample, t = HEALTH_THRESHOLDS): HealthEvaluation {
  const found: { status: HealthStatus; reason: string }[] = [];

  for (const disk of sample.disks) {
    if (disk.totalBytes <= 0) continue;
    const free = (100 * (disk.totalBytes - disk.usedBytes)) / disk.totalBytes;
    if (free < t.diskFreeCriticalPercent)
      found.push({
        status: "critical",
        reason: `Disk ${disk.mount} has ${pct(free)} free (below ${t.diskFreeCriticalPercent} %)`,
      });
    else if (free < t.diskFreeWarningPercent)
      found.push({
        status: "warning",
        reason: `Disk ${disk.mount} has ${pct(free)} free (below ${t.diskFreeWarningPercent} %)`,
      });
  }

  if (sample.memoryTotalBytes > 0) {
    const available = (100 * sample.memoryAvailableBytes) / sample.memoryTotalBytes;
    if (available < t.memoryAvailableCriticalPercent)
      found.push({
        status: "critical",
        reason: `Memory has ${pct(available)} available (below ${t.memoryAvailableCriticalPercent} %)`,
      });
    else if (available < t.memoryAvailableWarningPercent)
      found.push({
        status: "warning",
        reason: `Memory has ${pct(available)} available (below ${t.memoryAvailableWarningPercent} %)`,
      });
  }

  for (const gpu of sample.gpus) {
    // A GPU the driver cannot read is degraded capacity, not a dead host: the other GPUs still serve.
    if (gpu.error)
      found.push({ status: "warning", reason: `GPU ${gpu.index} is in error (nvidia-smi cannot read it)` });
    const temp = gpu.temperatureCelsius;
    if (temp === undefined) continue;
    if (temp > t.gpuTemperatureCriticalCelsius)
      found.push({
        status: "critical",
        reason: `GPU ${gpu.index} is at ${temp} °C (above ${t.gpuTemperatureCriticalCelsius} °C)`,
      });
    else if (temp > t.gpuTemperatureWarningCelsius)
      found.push({
        status: "warning",
        reason: `GPU ${gpu.index} is at ${temp} °C (above ${t.gpuTemperatureWarningCelsius} °C)`,
      });
  }

  // Stable sort: worst first, then in rule order.
  found.sort((a, b) => RANK[b.status] - RANK[a.status]);
  return { status: found[0]?.status ?? "healthy", reasons: found.map((f) => f.reason) };
}
