import type { ServiceImpl } from "@connectrpc/connect";
import type { DiskService } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { callerOf } from "../api/caller.js";
import { parsePageRequest } from "../api/page-token.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { tenantFilterFor } from "../api/tenant-scope.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { getVisibleDisk, getVisibleSnapshot } from "./disk-access.js";
import { DISK_SNAPSHOT_STATUS } from "./disk-enums.js";
import { DEFAULT_DISK_TIMEOUTS, type DiskHandlerDeps } from "./disk-handler.js";
import { validDescription, validDiskName } from "./disk-rules.js";
import { listSnapshots } from "./snapshot-store.js";
import { createSnapshot, deleteSnapshot } from "./snapshot-verbs.js";
import { snapshotMessage } from "./disk-wire.js";

/** DiskService's snapshot methods: snapshots are resources of their own, named per disk. */
export function snapshotHandlers(
  deps: DiskHandlerDeps,
): Pick<
  ServiceImpl<typeof DiskService>,
  "createDiskSnapshot" | "getDiskSnapshot" | "listDiskSnapshots" | "deleteDiskSnapshot"
> {
  const t = { ...DEFAULT_DISK_TIMEOUTS, ...deps.timeouts };
  return {
    async createDiskSnapshot(req, ctx) {
      const diskId = requireId("disk_id", req.diskId);
      const m = req.snapshot;
      if (!m) throw new InvalidArgumentError("snapshot", "is required");
      const input = {
        name: validDiskName("snapshot.name", m.name),
        description: validDescription("snapshot.description", m.description),
      };
      const s = await createSnapshot(deps.knex, callerOf(ctx, deps.clock), diskId, input, t);
      deps.wakeReconciler?.();
      return { snapshot: snapshotMessage(s) };
    },
    async getDiskSnapshot(req, ctx) {
      const s = await getVisibleSnapshot(deps.knex, principalOf(ctx), requireId("id", req.id));
      return { snapshot: snapshotMessage(s) };
    },
    async listDiskSnapshots(req, ctx) {
      const p = principalOf(ctx);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const diskId = optionalId("disk_id", req.diskId);
      // Naming a disk the caller cannot see answers not_found, like GetDisk.
      if (diskId) await getVisibleDisk(deps.knex, p, diskId);
      const result = await listSnapshots(
        deps.knex,
        {
          tenantId: tenantFilterFor(p),
          userId: p.role === "user" ? p.userId : null,
          diskId,
          status: DISK_SNAPSHOT_STATUS.toDbFilter("status", req.status),
        },
        page,
      );
      return { snapshots: result.items.map(snapshotMessage), nextPageToken: result.nextPageToken };
    },
    async deleteDiskSnapshot(req, ctx) {
      const s = await deleteSnapshot(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), t);
      deps.wakeReconciler?.();
      return { snapshot: snapshotMessage(s) };
    },
  };
}
