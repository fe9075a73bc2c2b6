import { InvalidArgumentError } from "../domain/errors.js";

/** Bounds a request's sizes must respect before anything is looked up (zero CPUs is bad input, not a shortfall). */
export interface SizeInput {
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpuCount: number;
  gpuModel: string | null;
}

export function positiveSize(field: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(field, `must be a positive integer, got ${v}`);
  return v;
}

/** Validates a full size; `prefix` is the request message holding it (e.g. "instance."). */
export function validateSize(s: SizeInput, prefix: string): SizeInput {
  positiveSize(`${prefix}cpu_cores`, s.cpuCores);
  positiveSize(`${prefix}memory_gb`, s.memoryGb);
  positiveSize(`${prefix}storage_gb`, s.storageGb);
  if (!Number.isInteger(s.gpuCount) || s.gpuCount < 0)
    throw new InvalidArgumentError(`${prefix}gpu_count`, `must be a non-negative integer, got ${s.gpuCount}`);
  if (s.gpuModel !== null && s.gpuCount === 0)
    throw new InvalidArgumentError(`${prefix}gpu_model`, "must be empty when gpu_count is 0");
  if (s.gpuModel !== null && s.gpuModel.length > 128)
    throw new InvalidArgumentError(`${prefix}gpu_model`, "must be at most 128 characters");
  return s;
}
