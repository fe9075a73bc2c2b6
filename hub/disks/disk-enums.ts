import {
  DiskShareMode as ShareModePb,
  DiskShareModeSchema,
  DiskSnapshotStatus as SnapshotStatusPb,
  DiskSnapshotStatusSchema,
  DiskStatus as StatusPb,
  DiskStatusSchema,
  DiskType as TypePb,
  DiskTypeSchema,
  StoragePoolStatus as PoolStatusPb,
  StoragePoolStatusSchema,
} from "../../gen/edgehub/admin/v1/disk_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The closed vocabularies of 000 §3.1 and §6.1.2: each wire enum ⇄ the text its column stores.

export const DISK_TYPE = enumMapping(
  DiskTypeSchema,
  { [TypePb.STANDARD]: "standard", [TypePb.SSD]: "ssd", [TypePb.NVME]: "nvme" },
  [
    { table: "private_data_disks", column: "disk_type" },
    { table: "disk_type_pools", column: "disk_type" },
  ],
);
export type DiskType = (typeof DISK_TYPE.dbValues)[number];

export const DISK_STATUS = enumMapping(
  DiskStatusSchema,
  {
    [StatusPb.AVAILABLE]: "available",
    [StatusPb.ATTACHED]: "attached",
    [StatusPb.CREATING]: "creating",
    [StatusPb.DELETING]: "deleting",
    [StatusPb.ERROR]: "error",
  },
  [{ table: "private_data_disks", column: "status" }],
);
export type DiskStatus = (typeof DISK_STATUS.dbValues)[number];

export const DISK_SHARE_MODE = enumMapping(
  DiskShareModeSchema,
  { [ShareModePb.EXCLUSIVE]: "exclusive", [ShareModePb.SHARED]: "shared" },
  [{ table: "private_data_disks", column: "share_mode" }],
);
export type DiskShareMode = (typeof DISK_SHARE_MODE.dbValues)[number];

export const DISK_SNAPSHOT_STATUS = enumMapping(
  DiskSnapshotStatusSchema,
  {
    [SnapshotStatusPb.CREATING]: "creating",
    [SnapshotStatusPb.AVAILABLE]: "available",
    [SnapshotStatusPb.DELETING]: "deleting",
    [SnapshotStatusPb.ERROR]: "error",
  },
  [{ table: "private_data_disk_snapshots", column: "status" }],
);
export type DiskSnapshotStatus = (typeof DISK_SNAPSHOT_STATUS.dbValues)[number];

export const STORAGE_POOL_STATUS = enumMapping(
  StoragePoolStatusSchema,
  {
    [PoolStatusPb.ACTIVE]: "active",
    [PoolStatusPb.ABSENT]: "absent",
    [PoolStatusPb.UNREACHABLE]: "unreachable",
  },
  [{ table: "storage_pools", column: "status" }],
);
export type StoragePoolStatus = (typeof STORAGE_POOL_STATUS.dbValues)[number];
