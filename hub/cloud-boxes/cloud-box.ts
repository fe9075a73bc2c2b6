import type { BoxStatus } from "../cloud-box-devices/cloud-box-lifecycle.js";
import type { DeviceMetrics, NetworkConfig } from "../cloud-box-devices/box-facts.js";

export interface CloudBox {
  id: string;
  agentId: string;
  name: string;
  serialNumber: string;
  macAddress: string;
  model: string;
  manufacturer: string;
  location: string;
  tags: Record<string, string>;
  assignedUserId: string | null;
  edgeDataCenterId: string | null;
  status: BoxStatus;
  firmwareVersion: string;
  ipAddress: string;
  network: NetworkConfig;
  lastMetrics: DeviceMetrics | null;
  lastMetricsAt: Date | null;
  lastBootAt: Date | null;
  lastHeartbeatAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A temporary binding (000 §1.6 temporary_instance_id / temporary_bind_expires_at). */
export interface BoxBinding {
  id: string;
  cloudBoxId: string;
  instanceId: string;
  userId: string;
  expiresAt: Date | null;
  createdAt: Date;
  createdBy: string | null;
}
