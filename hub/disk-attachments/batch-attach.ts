import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { getVisibleDisk } from "../disks/disk-access.js";
import { AlreadyExistsError, DomainError, FailedPreconditionError } from "../domain/errors.js";
import { accessSet, requireManager } from "../instance-sets/instance-set-permissions.js";
import { setInstanceIds } from "../instance-sets/set-instance-store.js";
import { getInstance } from "../instances/instance-store.js";
import { attachInTransaction } from "./attach-disk.js";
import type { DiskAttachment } from "./disk-attachment.js";
import { getDisk } from "./disk-attachment-store.js";

export interface BatchAttachResult {
  instanceId: string;
  attachment: DiskAttachment | undefined;
  /** A stable reason (MAX_ATTACHMENTS_REACHED, ALREADY_ATTACHED, …) when refused; "" on success. */
  errorReason: string;
  error: string;
}

/**
 * 000 §2.3 挂载私有数据盘 (instance sets): one shared disk, read-only, on every instance of the set.
 * Each instance in its own transaction with its audit row, so one refusal (the disk full, the
 * instance's rule, already attached) is that instance's result and never undoes the others.
 */
export async function batchAttachToInstanceSet(
  knex: Knex,
  caller: Caller,
  req: { diskId: string; instanceSetId: string; mountPath: string },
): Promise<BatchAttachResult[]> {
  const access = await accessSet(knex, caller.principal, req.instanceSetId);
  requireManager(access, "attach a disk to every instance");
  await getVisibleDisk(knex, caller.principal, req.diskId);
  const disk = await getDisk(knex, req.diskId);
  const meta = { disk_id: disk.id, instance_set_id: req.instanceSetId };
  if (disk.shareMode !== "shared")
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id} to instance set ${req.instanceSetId}: only a shared disk attaches to many instances (read-only)`,
      { reason: "DISK_NOT_SHARED", metadata: meta },
    );
  if (disk.tenantId !== access.set.tenantId)
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id} to instance set ${req.instanceSetId}: they belong to different tenants`,
      { reason: "DISK_OF_ANOTHER_TENANT", metadata: meta },
    );
  const out: BatchAttachResult[] = [];
  for (const instanceId of await setInstanceIds(knex, req.instanceSetId)) {
    try {
      const attachment = await knex.transaction(async (trx) => {
        const instance = await getInstance(trx, instanceId, { lock: true });
        const made = await attachInTransaction(trx, {
          instance,
          disk: await getDisk(trx, disk.id),
          mountPath: req.mountPath,
          mountMode: "ro",
          origin: "batch",
          actorId: caller.principal.userId,
          at: caller.at,
        });
        await recordChange(trx, caller, {
          tenantId: instance.tenantId,
          action: "disk.attach",
          targetType: "disk_attachment",
          targetId: made.id,
          after: { instanceId, diskId: disk.id, instanceSetId: req.instanceSetId, targetDev: made.targetDev },
        });
        return made;
      });
      out.push({ instanceId, attachment, errorReason: "", error: "" });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const reason =
        err instanceof AlreadyExistsError ? "ALREADY_ATTACHED" : ((err as { reason?: string }).reason ?? err.code);
      out.push({ instanceId, attachment: undefined, errorReason: reason.toUpperCase(), error: err.message });
    }
  }
  return out;
}
