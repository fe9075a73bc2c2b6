import type { GpuFacts, GpuSample } from "./host-facts.js";

/** The fields queried from nvidia-smi, in order; the parser depends on this order. */
export const NVIDIA_SMI_FIELDS = [
  "index",
  "uuid",
  "name",
  "memory.total",
  "compute_cap",
  "temperature.gpu",
  "utilization.gpu",
  "memory.used",
  "power.draw",
  // Last, so recordings of the nine-field query made before it still parse (without a bus id).
  "pci.bus_id",
] as const;

/** One line of `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`, read defensively. */
export interface NvidiaSmiGpu {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMib?: number;
  computeCapability: string;
  temperatureCelsius?: number;
  utilizationPercent?: number;
  memoryUsedMib?: number;
  powerDrawWatts?: number;
  /** e.g. "00000000:17:00.0"; empty when not reported. */
  pciBusId: string;
  /** Set when nvidia-smi reported an error for this GPU; the reason, for people. */
  error?: string;
}

// Values nvidia-smi prints instead of a number. N/A and Not Supported are normal (consumer cards,
// MIG, passive boards); the others mean the driver could not talk to the GPU.
const ABSENT = new Set(["[N/A]", "N/A", "[Not Supported]", "Not Supported", ""]);
const ERROR_VALUE = /^(ERR!|\[GPU is lost\]|\[Unknown Error\]|\[GPU requires reset\]|\[Insufficient Permissions\])$/i;
const NO_DEVICES = /no devices were found/i;

/**
 * Parses nvidia-smi CSV output. Blank output or "No devices were found" is no GPUs. A value such
 * as ERR! or [GPU is lost] marks that GPU in error instead of failing the whole host; a line that
 * is not CSV at all (nvidia-smi prints "Unable to determine the device handle for GPU …" in the
 * failing GPU's place) becomes a GPU in error at that position, so a broken GPU is never silently
 * dropped from the count.
 */
export function parseNvidiaSmiCsv(text: string): NvidiaSmiGpu[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 1 && NO_DEVICES.test(lines[0]!)) return [];
  return lines.map((line, position) => parseLine(line, position));
}

function parseLine(line: string, position: number): NvidiaSmiGpu {
  const cells = line.split(",").map((c) => c.trim());
  const index = Number.parseInt(cells[0] ?? "", 10);
  const width = cells.length;
  if ((width !== NVIDIA_SMI_FIELDS.length && width !== NVIDIA_SMI_FIELDS.length - 1) || !Number.isInteger(index)) {
    return { index: position, uuid: "", name: "", computeCapability: "", pciBusId: "", error: line };
  }
  const errors: string[] = [];
  const text = (i: number): string => {
    const v = cells[i]!;
    if (ERROR_VALUE.test(v)) {
      errors.push(`${v} in ${NVIDIA_SMI_FIELDS[i]}`);
      return "";
    }
    return ABSENT.has(v) ? "" : v;
  };
  const num = (i: number): number | undefined => {
    const v = text(i);
    if (v === "") return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) {
      errors.push(`unreadable ${NVIDIA_SMI_FIELDS[i]} "${v}"`);
      return undefined;
    }
    return n;
  };
  const gpu: NvidiaSmiGpu = {
    index,
    uuid: text(1),
    name: text(2),
    memoryTotalMib: num(3),
    computeCapability: text(4),
    temperatureCelsius: num(5),
    utilizationPercent: num(6),
    memoryUsedMib: num(7),
    powerDrawWatts: num(8),
    pciBusId: width > 9 ? text(9) : "",
  };
  if (errors.length > 0) gpu.error = errors.join("; ");
  return gpu;
}

/** The inventory view of a GPU reading. */
export function gpuFactsOf(gpu: NvidiaSmiGpu): GpuFacts {
  return {
    index: gpu.index,
    uuid: gpu.uuid,
    name: gpu.name,
    memoryTotalMib: gpu.memoryTotalMib ?? 0,
    computeCapability: gpu.computeCapability,
    status: gpu.error === undefined ? "ok" : "error",
    statusDetail: gpu.error ?? "",
    pciBusId: gpu.pciBusId,
  };
}

/** The metrics view of a GPU reading. */
export function gpuSampleOf(gpu: NvidiaSmiGpu): GpuSample {
  return {
    index: gpu.index,
    uuid: gpu.uuid,
    utilizationPercent: gpu.utilizationPercent,
    memoryUsedMib: gpu.memoryUsedMib,
    memoryTotalMib: gpu.memoryTotalMib,
    temperatureCelsius: gpu.temperatureCelsius,
    powerDrawWatts: gpu.powerDrawWatts,
    error: gpu.error !== undefined,
  };
}
