import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { DiskAttachmentSchema, InstanceDiskSchema, type DiskService } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { callerOf, type Caller } from "../api/caller.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest } from "../api/page-token.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { recordChange } from "../audit/record-change.js";
import { getVisibleDisk } from "../disks/disk-access.js";
import { getDisk as getDiskRecord } from "../disks/disk-store.js";
import { diskMessage } from "../disks/disk-wire.js";
import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import { getVisibleInstance } from "../instances/instance-access.js";
import type { Instance } from "../instances/instance.js";
import { ATTACHMENT_ORIGIN, ATTACHMENT_STATUS, MOUNT_MODE } from "./attachment-enums.js";
import { attachInTransaction } from "./attach-disk.js";
import { batchAttachToInstanceSet } from "./batch-attach.js";
import { detachInTransaction } from "./detach-disk.js";
import type { AttachableDisk, DiskAttachment } from "./disk-attachment.js";
import { attachmentOf, getDisk, listAttachments } from "./disk-attachment-store.js";

type AttachmentMethods =
  "attachDisk" | "detachDisk" | "listDiskAttachments" | "listInstanceDisks" | "batchAttachDiskToInstanceSet";

const ALL = ["admin", "tenant_admin", "operator", "user"] as const;
const ACTORS = ["admin", "tenant_admin", "user"] as const;

/** The attachment block of DiskService's policy (hub/disks/disk-service.ts spreads it in). */
export const diskAttachmentPolicy: Pick<ServicePolicy<typeof DiskService>, AttachmentMethods> = {
  attachDisk: rolesAllowed(...ACTORS),
  detachDisk: rolesAllowed(...ACTORS),
  listDiskAttachments: rolesAllowed(...ALL),
  listInstanceDisks: rolesAllowed(...ALL),
  // Teachers (tenant_admin or a set's teacher user) hand out one shared disk to a class.
  batchAttachDiskToInstanceSet: rolesAllowed(...ACTORS),
};

export interface DiskAttachmentHandlerDeps {
  knex: Knex;
  clock: Clock;
  /** Wakes the attachment reconciler after a mutation (absent: it converges on its own timer). */
  wakeAttachments?: () => void;
}

export function attachmentMessage(a: DiskAttachment) {
  return create(DiskAttachmentSchema, {
    id: a.id,
    instanceId: a.instanceId,
    diskId: a.diskId,
    mountPath: a.mountPath,
    mountMode: MOUNT_MODE.fromDb(a.mountMode),
    targetDev: a.targetDev,
    status: ATTACHMENT_STATUS.fromDb(a.status),
    error: a.error,
    origin: ATTACHMENT_ORIGIN.fromDb(a.origin),
    attachTime: a.attachedAt ? timestampFromDate(a.attachedAt) : undefined,
    attachedBy: a.attachedBy ?? "",
    createTime: timestampFromDate(a.createdAt),
    updateTime: timestampFromDate(a.updatedAt),
  });
}

/**
 * Both sides of an attachment as the caller may see them, in the caller's transaction with the
 * instance row locked (one attach or detach per instance at a time). An exclusive disk attaches
 * only to its owner's instances; nothing crosses tenants.
 */
async function visiblePair(
  trx: Knex.Transaction,
  caller: Caller,
  instanceId: string,
  diskId: string,
): Promise<{ instance: Instance; disk: AttachableDisk }> {
  const instance = await getVisibleInstance(trx, caller.principal, instanceId, { lock: true });
  await getVisibleDisk(trx, caller.principal, diskId);
  const disk = await getDisk(trx, diskId);
  const meta = { disk_id: disk.id, instance_id: instance.id };
  if (disk.tenantId !== instance.tenantId)
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id} to instance ${instance.id}: they belong to different tenants`,
      { reason: "DISK_OF_ANOTHER_TENANT", metadata: meta },
    );
  if (disk.shareMode === "exclusive" && disk.userId !== instance.userId)
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id} to instance ${instance.id}: an exclusive disk attaches only to its owner's instances`,
      { reason: "DISK_OWNER_MISMATCH", metadata: meta },
    );
  return { instance, disk };
}

export function diskAttachmentHandlers(
  deps: DiskAttachmentHandlerDeps,
): Pick<ServiceImpl<typeof DiskService>, AttachmentMethods> {
  const { knex, clock } = deps;
  const wake = () => deps.wakeAttachments?.();
  return {
    async attachDisk(req, ctx) {
      const caller = callerOf(ctx, clock);
      const diskId = requireId("disk_id", req.diskId);
      const instanceId = requireId("instance_id", req.instanceId);
      const mountMode = MOUNT_MODE.toDbFilter("mount_mode", req.mountMode);
      const a = await knex.transaction(async (trx) => {
        const { instance, disk } = await visiblePair(trx, caller, instanceId, diskId);
        const made = await attachInTransaction(trx, {
          instance,
          disk,
          mountPath: req.mountPath,
          mountMode,
          origin: "manual",
          actorId: caller.principal.userId,
          at: caller.at,
        });
        await recordChange(trx, caller, {
          tenantId: instance.tenantId,
          action: "disk.attach",
          targetType: "disk_attachment",
          targetId: made.id,
          after: {
            instanceId,
            diskId,
            mountPath: made.mountPath,
            mountMode: made.mountMode,
            targetDev: made.targetDev,
          },
        });
        return made;
      });
      wake();
      return { attachment: attachmentMessage(a) };
    },

    async detachDisk(req, ctx) {
      const caller = callerOf(ctx, clock);
      const diskId = requireId("disk_id", req.diskId);
      const instanceId = requireId("instance_id", req.instanceId);
      const a = await knex.transaction(async (trx) => {
        const instance = await getVisibleInstance(trx, caller.principal, instanceId, { lock: true });
        await getVisibleDisk(trx, caller.principal, diskId);
        const current = await attachmentOf(trx, instanceId, diskId);
        if (!current)
          throw new FailedPreconditionError(
            `Cannot detach disk ${diskId} from instance ${instanceId}: it is not attached to it`,
            { reason: "NOT_ATTACHED", metadata: { disk_id: diskId, instance_id: instanceId } },
          );
        const after = await detachInTransaction(trx, instance, current, caller.principal.userId, caller.at);
        await recordChange(trx, caller, {
          tenantId: instance.tenantId,
          action: "disk.detach",
          targetType: "disk_attachment",
          targetId: current.id,
          before: { instanceId, diskId, status: current.status, targetDev: current.targetDev },
          after: after ? { status: after.status } : { status: "detached" },
        });
        return after;
      });
      wake();
      return { attachment: a ? attachmentMessage(a) : undefined };
    },

    async listDiskAttachments(req, ctx) {
      const caller = callerOf(ctx, clock);
      const diskId = optionalId("disk_id", req.diskId);
      const instanceId = optionalId("instance_id", req.instanceId);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      if (diskId) await getVisibleDisk(knex, caller.principal, diskId);
      if (instanceId) await getVisibleInstance(knex, caller.principal, instanceId);
      // Neither named: what the caller may see — admins and operators all, a tenant admin the
      // tenant's disks, a user the disks they own.
      const { role, tenantId, userId } = caller.principal;
      const scope =
        diskId || instanceId || role === "admin" || role === "operator"
          ? {}
          : role === "tenant_admin"
            ? { diskTenantId: tenantId ?? "" }
            : { diskUserId: userId };
      const got = await listAttachments(knex, { diskId, instanceId, ...scope }, page);
      return { attachments: got.items.map(attachmentMessage), nextPageToken: got.nextPageToken };
    },

    async listInstanceDisks(req, ctx) {
      const caller = callerOf(ctx, clock);
      const instanceId = requireId("instance_id", req.instanceId);
      await getVisibleInstance(knex, caller.principal, instanceId);
      // At most 25 data disks per instance (vdb…vdz) and a few failed ones: one page holds them.
      const got = await listAttachments(knex, { diskId: null, instanceId }, parsePageRequest(1000, ""));
      const disks = [];
      for (const a of got.items) {
        const d = await getDiskRecord(knex, a.diskId, { includeDeleted: true });
        disks.push(create(InstanceDiskSchema, { attachment: attachmentMessage(a), disk: diskMessage(d) }));
      }
      return { disks };
    },

    async batchAttachDiskToInstanceSet(req, ctx) {
      const caller = callerOf(ctx, clock);
      const results = await batchAttachToInstanceSet(knex, caller, {
        diskId: requireId("disk_id", req.diskId),
        instanceSetId: requireId("instance_set_id", req.instanceSetId),
        mountPath: req.mountPath,
      });
      wake();
      return {
        results: results.map((r) => ({
          instanceId: r.instanceId,
          attachment: r.attachment ? attachmentMessage(r.attachment) : undefined,
          errorReason: r.errorReason,
          error: r.error,
        })),
      };
    },
  };
}
