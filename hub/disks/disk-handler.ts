import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import type { Disk as DiskMessage, DiskService } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { callerOf } from "../api/caller.js";
import { updatePaths } from "../api/field-mask.js";
import { parsePageRequest } from "../api/page-token.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { scopeTenantFilter } from "../api/tenant-scope.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { cloneDisk, createDisk, type DiskTimeouts, type NewDiskInput } from "./disk-create.js";
import { getVisibleDisk } from "./disk-access.js";
import { DISK_SHARE_MODE, DISK_STATUS, DISK_TYPE } from "./disk-enums.js";
import { validDescription, validDiskName, validMaxAttachments, validSizeGb } from "./disk-rules.js";
import { listDisks } from "./disk-store.js";
import { deleteDisk, resizeDisk, updateDisk } from "./disk-verbs.js";
import { diskMessage } from "./disk-wire.js";

export interface DiskHandlerDeps {
  knex: Knex;
  clock: Clock;
  /** Wakes the disk reconciler after a mutation (absent: it converges on its own timer). */
  wakeReconciler?: () => void;
  timeouts?: Partial<DiskTimeouts>;
}

export const DEFAULT_DISK_TIMEOUTS: DiskTimeouts = {
  createTimeoutMs: 10 * 60_000,
  resizeTimeoutMs: 10 * 60_000,
  deleteTimeoutMs: 10 * 60_000,
  snapshotTimeoutMs: 5 * 60_000,
};

const UPDATABLE = ["name", "description"] as const;

/** The new-disk fields of a request's Disk (create and clone); `allowZeroSize` for clones (0 = the snapshot's). */
function newDiskInput(m: DiskMessage, allowZeroSize: boolean): NewDiskInput {
  const shareMode = m.shareMode === 0 ? "exclusive" : DISK_SHARE_MODE.toDb("disk.share_mode", m.shareMode);
  return {
    name: validDiskName("disk.name", m.name),
    description: validDescription("disk.description", m.description),
    userId: m.userId,
    sizeGb: allowZeroSize && m.sizeGb === 0 ? 0 : validSizeGb("disk.size_gb", m.sizeGb),
    shareMode,
    maxAttachments: validMaxAttachments("disk.max_attachments", shareMode, m.maxAttachments),
  };
}

/** DiskService's disk methods (000 §3.2): create, get, list, update, delete, resize, clone. */
export function diskHandlers(
  deps: DiskHandlerDeps,
): Pick<
  ServiceImpl<typeof DiskService>,
  "createDisk" | "getDisk" | "listDisks" | "updateDisk" | "deleteDisk" | "resizeDisk" | "cloneDisk"
> {
  const t = { ...DEFAULT_DISK_TIMEOUTS, ...deps.timeouts };
  const mutated = (d: Parameters<typeof diskMessage>[0]) => {
    deps.wakeReconciler?.();
    return { disk: diskMessage(d) };
  };
  return {
    async createDisk(req, ctx) {
      const m = req.disk;
      if (!m) throw new InvalidArgumentError("disk", "is required");
      const input = {
        ...newDiskInput(m, false),
        diskType: DISK_TYPE.toDb("disk.disk_type", m.diskType),
        edgeDataCenterId: optionalId("edge_data_center_id", req.edgeDataCenterId),
      };
      return mutated(await createDisk(deps.knex, callerOf(ctx, deps.clock), input, t));
    },
    async getDisk(req, ctx) {
      return { disk: diskMessage(await getVisibleDisk(deps.knex, principalOf(ctx), requireId("id", req.id))) };
    },
    async listDisks(req, ctx) {
      const p = principalOf(ctx);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const requestedUser = optionalId("user_id", req.userId);
      const result = await listDisks(
        deps.knex,
        {
          tenantId: scopeTenantFilter(p, req.tenantId === "" ? "" : requireId("tenant_id", req.tenantId)),
          // A user sees only its own disks, whatever it asks for.
          userId: p.role === "user" ? p.userId : requestedUser,
          status: DISK_STATUS.toDbFilter("status", req.status),
          diskType: DISK_TYPE.toDbFilter("disk_type", req.diskType),
          storagePoolId: optionalId("storage_pool_id", req.storagePoolId),
          parentSnapshotId: optionalId("parent_snapshot_id", req.parentSnapshotId),
        },
        page,
      );
      return { disks: result.items.map(diskMessage), nextPageToken: result.nextPageToken };
    },
    async updateDisk(req, ctx) {
      const m = req.disk;
      if (!m) throw new InvalidArgumentError("disk", "is required");
      const id = requireId("disk.id", m.id);
      const paths = updatePaths(req.updateMask, UPDATABLE);
      const patch: { name?: string; description?: string } = {};
      if (paths.has("name")) patch.name = validDiskName("disk.name", m.name);
      if (paths.has("description")) patch.description = validDescription("disk.description", m.description);
      return { disk: diskMessage(await updateDisk(deps.knex, callerOf(ctx, deps.clock), id, m.etag, patch)) };
    },
    async deleteDisk(req, ctx) {
      return mutated(await deleteDisk(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), t));
    },
    async resizeDisk(req, ctx) {
      const id = requireId("id", req.id);
      return mutated(await resizeDisk(deps.knex, callerOf(ctx, deps.clock), id, req.etag, req.sizeGb, t));
    },
    async cloneDisk(req, ctx) {
      const snapshotId = requireId("snapshot_id", req.snapshotId);
      const m = req.disk;
      if (!m) throw new InvalidArgumentError("disk", "is required");
      return mutated(await cloneDisk(deps.knex, callerOf(ctx, deps.clock), snapshotId, newDiskInput(m, true), t));
    },
  };
}
