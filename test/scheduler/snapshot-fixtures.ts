import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseNvidiaSmiCsv } from "../../lib/host-facts/parse-nvidia-smi-csv.js";
import type { PlacementRequest } from "../../hub/scheduler/placement-request.js";
import type { SnapshotGpu, SnapshotMachine, SnapshotPool } from "../../hub/scheduler/scheduling-snapshot.js";

// Hand-built snapshots for the pure placement function: readable ids ("m1") so a failing
// assertion says which machine won.

export const POOL_ID = "pool-a";

export function pool(over: Partial<SnapshotPool> = {}): SnapshotPool {
  return {
    id: POOL_ID,
    name: "edge-a",
    status: "active",
    schedulingPolicy: "load_balance",
    gpuAllocationStrategy: "first_fit",
    ...over,
  };
}

export function machine(id: string, over: Partial<SnapshotMachine> = {}): SnapshotMachine {
  return {
    id,
    hostname: `${id}.edge`,
    computePoolId: POOL_ID,
    edgeDataCenterId: "dc-1",
    agentId: `agent-${id}`,
    agentConnected: true,
    status: "active",
    healthStatus: "healthy",
    rentalMode: "shared",
    cpuCores: 16,
    memoryGb: 64,
    storageGb: 1000,
    gpuCount: 0,
    allocatedCpuCores: 0,
    allocatedMemoryGb: 0,
    allocatedStorageGb: 0,
    allocatedGpuCount: 0,
    priority: 0,
    labels: {},
    lastPlacedAt: null,
    gpus: [],
    ...over,
  };
}

export function request(over: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    instanceId: "inst-1",
    vmId: "vm-1",
    tenantId: "tenant-1",
    computePoolId: POOL_ID,
    rentalMode: "shared",
    cpuCores: 2,
    memoryGb: 4,
    storageGb: 20,
    gpuCount: 0,
    gpuModel: null,
    requiredLabels: {},
    affinityMachineId: null,
    ...over,
  };
}

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

/**
 * A machine's GPU rows as the hub would hold them after the agent reported `file` (a recorded
 * nvidia-smi CSV): a GPU nvidia-smi reports in error is `error`; `allocated` indexes are taken.
 */
export function gpusFrom(file: string, machineId: string, allocated: number[] = []): SnapshotGpu[] {
  return parseNvidiaSmiCsv(fs.readFileSync(path.join(FIXTURES, file), "utf8")).map((g) => ({
    id: `${machineId}-gpu${g.index}`,
    index: g.index,
    model: g.name,
    pciAddress: `0000:${(0x17 + g.index * 0x10).toString(16)}:00.0`,
    status: g.error !== undefined ? "error" : allocated.includes(g.index) ? "allocated" : "available",
  }));
}

/** A gpu_server machine whose GPUs come from a recorded inventory. */
export function gpuMachine(id: string, file: string, allocated: number[] = [], over: Partial<SnapshotMachine> = {}) {
  const gpus = gpusFrom(file, id, allocated);
  return machine(id, {
    gpus,
    gpuCount: gpus.length,
    allocatedGpuCount: allocated.length,
    cpuCores: 64,
    memoryGb: 512,
    storageGb: 4000,
    ...over,
  });
}
