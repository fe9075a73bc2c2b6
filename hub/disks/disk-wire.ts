import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  DiskSchema,
  DiskSnapshotSchema,
  DiskTypePoolSchema,
  StoragePoolSchema,
  type Disk as DiskMessage,
} from "../../gen/edgehub/admin/v1/disk_pb.js";
import { etagOf } from "../api/etag.js";
import type { Disk, DiskSnapshot, StoragePool } from "./disk.js";
import { DISK_SHARE_MODE, DISK_SNAPSHOT_STATUS, DISK_STATUS, DISK_TYPE, STORAGE_POOL_STATUS } from "./disk-enums.js";
import type { DiskTypePool } from "./storage-pool-store.js";

// The only place disks' domain objects become wire messages.

export function diskMessage(d: Disk): DiskMessage {
  return create(DiskSchema, {
    id: d.id,
    name: d.name,
    description: d.description,
    userId: d.userId,
    tenantId: d.tenantId,
    sizeGb: d.sizeGb,
    diskType: DISK_TYPE.fromDb(d.diskType),
    status: DISK_STATUS.fromDb(d.status),
    shareMode: DISK_SHARE_MODE.fromDb(d.shareMode),
    maxAttachments: d.maxAttachments,
    rbdImageName: d.rbdImageName,
    rbdPool: d.rbdPool,
    storagePoolId: d.storagePoolId,
    parentSnapshotId: d.parentSnapshotId ?? "",
    provisionedSizeGb: d.provisionedSizeGb,
    lastError: d.lastError,
    operationDeadline: d.operationDeadline ? timestampFromDate(d.operationDeadline) : undefined,
    createTime: timestampFromDate(d.createdAt),
    updateTime: timestampFromDate(d.updatedAt),
    etag: etagOf(d),
  });
}

export function snapshotMessage(s: DiskSnapshot) {
  return create(DiskSnapshotSchema, {
    id: s.id,
    diskId: s.diskId,
    name: s.name,
    description: s.description,
    sizeGb: s.sizeGb,
    rbdSnapshotName: s.rbdSnapshotName,
    status: DISK_SNAPSHOT_STATUS.fromDb(s.status),
    protected: s.protected,
    userId: s.userId,
    tenantId: s.tenantId,
    lastError: s.lastError,
    createTime: timestampFromDate(s.createdAt),
    updateTime: timestampFromDate(s.updatedAt),
    etag: etagOf(s),
  });
}

export function storagePoolMessage(p: StoragePool, mapping: readonly DiskTypePool[]) {
  return create(StoragePoolSchema, {
    id: p.id,
    name: p.name,
    agentId: p.agentId,
    edgeDataCenterId: p.edgeDataCenterId ?? "",
    status: STORAGE_POOL_STATUS.fromDb(p.status),
    capacityBytes: p.capacityBytes,
    usedBytes: p.usedBytes,
    availableBytes: p.availableBytes,
    objectCount: p.objectCount,
    diskTypes: mapping.filter((m) => m.poolName === p.name).map((m) => DISK_TYPE.fromDb(m.diskType)),
    refreshTime: timestampFromDate(p.refreshedAt),
    createTime: timestampFromDate(p.createdAt),
    updateTime: timestampFromDate(p.updatedAt),
  });
}

export function diskTypePoolMessage(m: DiskTypePool) {
  return create(DiskTypePoolSchema, {
    diskType: DISK_TYPE.fromDb(m.diskType),
    poolName: m.poolName,
    updateTime: timestampFromDate(m.updatedAt),
  });
}
