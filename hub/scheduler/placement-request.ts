/** What instances ask the scheduler for (issue 10 contract between the scheduler and hub/instances). */
export interface PlacementRequest {
  instanceId: string;
  vmId: string;
  tenantId: string;
  /** null = any active pool. */
  computePoolId: string | null;
  rentalMode: RentalMode;
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpuCount: number;
  gpuModel: string | null;
  requiredLabels: Record<string, string>;
  /** The affinity policy prefers this machine (e.g. the one the instance ran on last). */
  affinityMachineId: string | null;
}

/** Spec 000 §1.3: an exclusive machine goes whole to one instance; a shared one hosts many VMs. */
export type RentalMode = "shared" | "exclusive";

/** One whole GPU handed to a VM (passed to the domain as a PCI hostdev). */
export interface PlacedGpu {
  id: string;
  index: number;
  pciAddress: string;
  model: string;
}

/** Where an instance landed and what was charged for it, in the transaction that recorded it. */
export interface Placement {
  historyId: string;
  computeMachineId: string;
  agentId: string;
  edgeDataCenterId: string;
  computePoolId: string;
  policy: string;
  exclusive: boolean;
  /** What was charged to the machine (the whole machine when exclusive). */
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpus: PlacedGpu[];
}
