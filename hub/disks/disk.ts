import type { DiskShareMode, DiskSnapshotStatus, DiskStatus, DiskType, StoragePoolStatus } from "./disk-enums.js";

/** A private data disk (000 §3.1): one RBD image `disk-{id}` in `rbdPool`. */
export interface Disk {
  id: string;
  userId: string;
  tenantId: string;
  name: string;
  description: string;
  /** What the owner asked for and is charged; the image grows to it. */
  sizeGb: number;
  /** What the gateway last reported; a resize is pending while it is below sizeGb. */
  provisionedSizeGb: number;
  diskType: DiskType;
  status: DiskStatus;
  shareMode: DiskShareMode;
  maxAttachments: number;
  rbdImageName: string;
  rbdPool: string;
  storagePoolId: string;
  parentSnapshotId: string | null;
  operationId: string | null;
  operationDeadline: Date | null;
  lastError: string;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

export interface DiskSnapshot {
  id: string;
  diskId: string;
  userId: string;
  tenantId: string;
  name: string;
  description: string;
  sizeGb: number;
  rbdSnapshotName: string;
  status: DiskSnapshotStatus;
  protected: boolean;
  operationId: string | null;
  operationDeadline: Date | null;
  lastError: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A Ceph pool as one ceph_gateway agent reported it (000 §6.1.2). */
export interface StoragePool {
  id: string;
  agentId: string;
  edgeDataCenterId: string | null;
  name: string;
  capacityBytes: bigint;
  usedBytes: bigint;
  availableBytes: bigint;
  objectCount: bigint;
  status: StoragePoolStatus;
  refreshedAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export const GIB = 1024n ** 3n;

/** The image name of 000 §3.0.2: `disk-{disk_id}`, unique because the id is. */
export function rbdImageNameOf(diskId: string): string {
  return `disk-${diskId}`;
}

export function rbdSnapshotNameOf(snapshotId: string): string {
  return `snap-${snapshotId}`;
}
