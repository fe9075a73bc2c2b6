import type { Knex } from "knex";

// The scheduler's contract (issue 10 brief, helper D owns hub/scheduler/). Instances depend on this
// shape only; hub/services.ts and hub/hub.ts hand in the real placeInstance / releaseAllocation.

export interface PlacementRequest {
  instanceId: string;
  vmId: string;
  tenantId: string;
  /** null = any active pool. */
  computePoolId: string | null;
  rentalMode: "shared" | "exclusive";
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpuCount: number;
  gpuModel: string | null;
  requiredLabels: Record<string, string>;
  /** affinity policy: prefer this machine (e.g. the last one). */
  affinityMachineId: string | null;
}

export interface Placement {
  historyId: string;
  computeMachineId: string;
  agentId: string;
  edgeDataCenterId: string;
  computePoolId: string;
  policy: string;
  exclusive: boolean;
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpus: { id: string; index: number; pciAddress: string; model: string }[];
}

export interface PlacementPort {
  /**
   * Chooses, charges and records, running `onPlaced` in the same transaction; on no fit throws
   * ResourceExhaustedError(reason NO_CAPACITY, metadata.scheduling_history_id).
   */
  placeInstance(
    db: Knex,
    req: PlacementRequest,
    onPlaced: (trx: Knex.Transaction, p: Placement) => Promise<void>,
  ): Promise<Placement>;
  /** Returns what placeInstance charged for this VM (idempotent; false when nothing was held). */
  releaseAllocation(trx: Knex.Transaction, vmId: string): Promise<boolean>;
}
