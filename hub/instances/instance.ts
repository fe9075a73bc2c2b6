import type { DesiredState, InstanceStatus, RentalMode, VmStatus } from "./instance-enums.js";

/** An instance (000 §2.1): its spec, what the API wants (`desiredState`) and what the agent reported (`status`). */
export interface Instance {
  id: string;
  name: string;
  description: string;
  userId: string;
  tenantId: string;
  templateId: string | null;
  imageId: string;
  /** Locked at create (000 §6.4.4). */
  imageVersionId: string;
  imageTagUsed: string;
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpuCount: number;
  gpuModel: string | null;
  status: InstanceStatus;
  desiredState: DesiredState;
  rentalMode: RentalMode | null;
  resourcePoolId: string | null;
  computeMachineId: string | null;
  virtualMachineId: string | null;
  requestedPoolId: string | null;
  /** Changes with every API operation; command idempotency keys include it. */
  operationId: string | null;
  pendingAction: "restart" | null;
  operationDeadline: Date | null;
  lastError: string;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

/** A VM (000 §1.5); its id is the libvirt domain UUID and its name the domain name. */
export interface VirtualMachine {
  id: string;
  computeMachineId: string;
  instanceId: string;
  vmName: string;
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpuCount: number;
  status: VmStatus;
  config: Record<string, unknown>;
  graphicsProtocol: string;
  graphicsHost: string;
  graphicsPort: number;
  lastDomainState: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface InstanceEvent {
  id: string;
  instanceId: string;
  kind: string;
  message: string;
  attributes: Record<string, unknown>;
  createdAt: Date;
}

/** Domains are named after their VM (brief contract: edgehub-<vm id>, libvirt UUID = VM id). */
export function domainNameOf(vmId: string): string {
  return `edgehub-${vmId}`;
}
