import type { PlacementRequest } from "./placement-request.js";
import type { RejectionReason } from "./rejection-reasons.js";
import type { SnapshotGpu, SnapshotMachine, SnapshotPool } from "./scheduling-snapshot.js";

// The filters of placement, in the order a machine meets them: what a machine *is* (pool, state,
// health, agent, rental mode, labels, GPU models) before what it *has free* (CPU, memory, storage,
// GPUs), so a machine is counted under the most lasting reason it fails.

/** What placing `req` on a machine would charge to it. */
export interface Charge {
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpus: SnapshotGpu[];
}

function sameModel(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** Why `m` can never take `req` as it stands (not a question of free capacity), or null. */
export function staticRejection(
  m: SnapshotMachine,
  pool: SnapshotPool | undefined,
  req: PlacementRequest,
): RejectionReason | null {
  if (req.computePoolId !== null && m.computePoolId !== req.computePoolId) return "pool_mismatch";
  if (pool === undefined || pool.status !== "active") return "pool_not_active";
  if (m.status !== "active") return m.status;
  if (m.healthStatus === "critical") return "health_critical";
  if (!m.agentConnected || m.agentId === null) return "agent_disconnected";
  if (m.rentalMode !== req.rentalMode) return "rental_mode";
  for (const [key, value] of Object.entries(req.requiredLabels)) if (m.labels[key] !== value) return "labels";
  if (req.gpuCount > 0 && !m.gpus.some((g) => req.gpuModel === null || sameModel(g.model, req.gpuModel)))
    return "gpu_model";
  return null;
}

/**
 * The GPUs `req` would get on `m`, lowest indexes first and all of one model (a VM mixing models
 * is never what was meant); the reason instead when too few are free.
 */
export function gpusFor(m: SnapshotMachine, req: PlacementRequest): SnapshotGpu[] | "gpu_count" {
  if (req.gpuCount === 0) return [];
  if (m.allocatedGpuCount + req.gpuCount > m.gpuCount) return "gpu_count";
  const free = freeGpus(m);
  const models = req.gpuModel !== null ? [req.gpuModel] : [...new Set(free.map((g) => g.model))];
  for (const model of models) {
    const ofModel = free.filter((g) => sameModel(g.model, model));
    if (ofModel.length >= req.gpuCount) return ofModel.slice(0, req.gpuCount);
  }
  return "gpu_count";
}

/** Available GPUs by index. */
export function freeGpus(m: SnapshotMachine): SnapshotGpu[] {
  return m.gpus.filter((g) => g.status === "available").sort((a, b) => a.index - b.index);
}

/** How many free GPUs `m` has that `req` could use (the least_loaded GPU strategy's measure). */
export function freeGpusOfModel(m: SnapshotMachine, req: PlacementRequest): number {
  const model = req.gpuModel;
  return freeGpus(m).filter((g) => model === null || sameModel(g.model, model)).length;
}

/**
 * What `m` would be charged for `req`, or why it has not got that much free. Exclusive: the machine
 * must hold nothing and is charged whole (all its CPU, memory, storage and free GPUs, 000 §1.3).
 */
export function chargeFor(m: SnapshotMachine, req: PlacementRequest): Charge | RejectionReason {
  const exclusive = req.rentalMode === "exclusive";
  if (
    exclusive &&
    (m.allocatedCpuCores > 0 || m.allocatedMemoryGb > 0 || m.allocatedStorageGb > 0 || m.allocatedGpuCount > 0)
  )
    return "exclusive_in_use";
  if (m.allocatedCpuCores + req.cpuCores > m.cpuCores) return "cpu";
  if (m.allocatedMemoryGb + req.memoryGb > m.memoryGb) return "memory";
  if (m.allocatedStorageGb + req.storageGb > m.storageGb) return "storage";
  const gpus = gpusFor(m, req);
  if (gpus === "gpu_count") return gpus;
  if (!exclusive) return { cpuCores: req.cpuCores, memoryGb: req.memoryGb, storageGb: req.storageGb, gpus };
  return { cpuCores: m.cpuCores, memoryGb: m.memoryGb, storageGb: m.storageGb, gpus: freeGpus(m) };
}
