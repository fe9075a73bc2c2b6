import type { RentalMode } from "./placement-request.js";
import type { RejectionCounts } from "./rejection-reasons.js";

// The state placement reads, as plain values: the pure function sees nothing else, so a test can
// build any fleet by hand and the database is read once per attempt (snapshot-query.ts).

/** Spec 000 §6.1.1 pools choose among fitting machines by their `scheduling_policy`. */
export const SCHEDULING_POLICIES = ["load_balance", "priority", "affinity", "round_robin"] as const;
export type SchedulingPolicy = (typeof SCHEDULING_POLICIES)[number];

/**
 * How whole GPUs are picked (spec 004 §4.2): `first_fit` leaves the machine to the pool's policy
 * and takes its lowest free indexes; `least_loaded` prefers the machine with the most free GPUs of
 * the model (the policy breaks ties), spreading GPU work across machines.
 */
export const GPU_ALLOCATION_STRATEGIES = ["first_fit", "least_loaded"] as const;
export type GpuAllocationStrategy = (typeof GPU_ALLOCATION_STRATEGIES)[number];

export type MachineStatus = "active" | "maintenance" | "offline" | "decommissioning";
export type HealthStatus = "unknown" | "healthy" | "warning" | "critical";
export type GpuStatus = "available" | "allocated" | "maintenance" | "error";

export interface SnapshotPool {
  id: string;
  name: string;
  status: string;
  schedulingPolicy: SchedulingPolicy;
  gpuAllocationStrategy: GpuAllocationStrategy;
}

export interface SnapshotGpu {
  id: string;
  index: number;
  model: string;
  pciAddress: string;
  status: GpuStatus;
}

export interface SnapshotMachine {
  id: string;
  hostname: string;
  computePoolId: string;
  edgeDataCenterId: string;
  agentId: string | null;
  agentConnected: boolean;
  status: MachineStatus;
  healthStatus: HealthStatus;
  rentalMode: RentalMode;
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpuCount: number;
  allocatedCpuCores: number;
  allocatedMemoryGb: number;
  allocatedStorageGb: number;
  allocatedGpuCount: number;
  priority: number;
  labels: Record<string, string>;
  /** When round_robin last chose it; null = never, which comes first. */
  lastPlacedAt: Date | null;
  gpus: SnapshotGpu[];
}

/**
 * Machines the snapshot query already turned away, counted by the filter that refused each (the
 * same filters, in the same order, as placement-filters.ts), so a snapshot of a large pool carries
 * the few best candidates in full and the rest as counts.
 */
export interface PrefilteredMachines {
  considered: number;
  rejectedBy: RejectionCounts;
  /** GPU models in the pools read, with counts (only read for a request naming a GPU model). */
  gpuModels: { model: string; count: number }[];
}

export interface SchedulingSnapshot {
  pools: SnapshotPool[];
  /** Machines for the filters and the policy to judge. */
  machines: SnapshotMachine[];
  prefiltered?: PrefilteredMachines;
}
