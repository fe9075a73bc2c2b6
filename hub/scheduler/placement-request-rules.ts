import { isUuid } from "../api/resource-id.js";
import { InvalidArgumentError } from "../domain/errors.js";
import type { PlacementRequest } from "./placement-request.js";

// A request the scheduler can act on; anything else is refused naming the field, before any read.

const MAX_GPU_MODEL_LENGTH = 200;

function id(field: string, v: string | null, nullable: boolean): void {
  if (v === null ? !nullable : !isUuid(v))
    throw new InvalidArgumentError(field, `must be a UUID, got ${JSON.stringify(v)}`);
}

function amount(field: string, v: number, opts: { integer: boolean; min: number }): void {
  if (!Number.isFinite(v) || (opts.integer && !Number.isInteger(v)) || v < opts.min)
    throw new InvalidArgumentError(
      field,
      `must be ${opts.integer ? "an integer" : "a number"} of at least ${opts.min}, got ${v}`,
    );
}

export function checkPlacementRequest(req: PlacementRequest): void {
  id("instance_id", req.instanceId, false);
  id("vm_id", req.vmId, false);
  id("tenant_id", req.tenantId, false);
  id("compute_pool_id", req.computePoolId, true);
  id("affinity_machine_id", req.affinityMachineId, true);
  if (req.rentalMode !== "shared" && req.rentalMode !== "exclusive")
    throw new InvalidArgumentError("rental_mode", `must be shared or exclusive, got ${JSON.stringify(req.rentalMode)}`);
  amount("cpu_cores", req.cpuCores, { integer: true, min: 1 });
  if (!(req.memoryGb > 0) || !Number.isFinite(req.memoryGb))
    throw new InvalidArgumentError("memory_gb", `must be more than 0, got ${req.memoryGb}`);
  amount("storage_gb", req.storageGb, { integer: false, min: 0 });
  amount("gpu_count", req.gpuCount, { integer: true, min: 0 });
  if (req.gpuModel !== null && (req.gpuModel.trim() === "" || req.gpuModel.length > MAX_GPU_MODEL_LENGTH))
    throw new InvalidArgumentError("gpu_model", `must be 1 to ${MAX_GPU_MODEL_LENGTH} characters when set`);
  for (const [key, value] of Object.entries(req.requiredLabels))
    if (typeof value !== "string" || key === "")
      throw new InvalidArgumentError(`required_labels.${key}`, "must be a non-empty key with a string value");
}
