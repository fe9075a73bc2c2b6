import type { ServiceImpl } from "@connectrpc/connect";
import type { DiskService } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { diskHandlers, type DiskHandlerDeps } from "./disk-handler.js";
import { snapshotHandlers } from "./snapshot-handler.js";
import { storagePoolHandlers } from "./storage-pool-handler.js";

const ALL = ["admin", "tenant_admin", "operator", "user"] as const;
const ACTORS = ["admin", "tenant_admin", "user"] as const;

/** The DiskService methods this folder serves; the attachment block is hub/disk-attachments/'s. */
export type DiskMethods =
  | "createDisk"
  | "getDisk"
  | "listDisks"
  | "updateDisk"
  | "deleteDisk"
  | "resizeDisk"
  | "createDiskSnapshot"
  | "getDiskSnapshot"
  | "listDiskSnapshots"
  | "deleteDiskSnapshot"
  | "cloneDisk"
  | "listStoragePools"
  | "getStoragePool"
  | "listDiskTypePools"
  | "updateDiskTypePool";

// Everyone reads what scoping lets them see; operators watch but do not drive disks. Storage pools
// are infrastructure: admins and operators see them; everyone may read which type maps where.
export const diskServicePolicy: Pick<ServicePolicy<typeof DiskService>, DiskMethods> = {
  createDisk: rolesAllowed(...ACTORS),
  getDisk: rolesAllowed(...ALL),
  listDisks: rolesAllowed(...ALL),
  updateDisk: rolesAllowed(...ACTORS),
  deleteDisk: rolesAllowed(...ACTORS),
  resizeDisk: rolesAllowed(...ACTORS),
  createDiskSnapshot: rolesAllowed(...ACTORS),
  getDiskSnapshot: rolesAllowed(...ALL),
  listDiskSnapshots: rolesAllowed(...ALL),
  deleteDiskSnapshot: rolesAllowed(...ACTORS),
  cloneDisk: rolesAllowed(...ACTORS),
  listStoragePools: rolesAllowed("admin", "operator"),
  getStoragePool: rolesAllowed("admin", "operator"),
  listDiskTypePools: rolesAllowed(...ALL),
  updateDiskTypePool: rolesAllowed("admin"),
};

export type DiskServiceDeps = DiskHandlerDeps;

/**
 * DiskService's disk, snapshot and storage pool methods. hub/services.ts joins them with the
 * attachment handlers of hub/disk-attachments/ (neither feature imports the other's service).
 */
export function createDiskService(deps: DiskServiceDeps): Pick<ServiceImpl<typeof DiskService>, DiskMethods> {
  return {
    ...diskHandlers(deps),
    ...snapshotHandlers(deps),
    ...storagePoolHandlers(deps),
  };
}
