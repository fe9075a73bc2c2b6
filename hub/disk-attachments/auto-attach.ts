import type { Knex } from "knex";
import type { Logger } from "pino";
import { getInstance } from "../instances/instance-store.js";
import { queueAttach } from "./attachment-agent-link.js";
import { recordDiskEvent } from "./attachment-events.js";
import { attachInTransaction } from "./attach-disk.js";
import { transitionAttachment } from "./disk-attachment-lifecycle.js";
import { ATTACHMENTS, attachableDisksOf, getDisk, liveAttachmentsOfInstance } from "./disk-attachment-store.js";

const SKIP_REASONS = new Set([
  "DISK_IN_USE",
  "MAX_ATTACHMENTS_REACHED",
  "MAX_ATTACHABLE_REACHED",
  "INSTANCE_MEMORY_BELOW_RULE",
  "DISK_TYPE_NOT_SUPPORTED",
  "NO_ATTACHMENT_RULE",
  "DISK_NOT_AVAILABLE",
]);

export interface AutoAttachSummary {
  reapplied: string[];
  attached: string[];
  skipped: { diskId: string; reason: string }[];
  failed: { diskId: string; error: string }[];
}

/**
 * 000 §8.2.2, run when an instance has just become running (the instance reconciler's hook):
 * 1. its recorded attachments (made while it was stopped, or kept from its last run) are applied to
 *    the running domain — attached → attaching with an attach_disk command;
 * 2. the owner's other disks (available or attached, in creation order) attach with default mount
 *    paths /mnt/data1, /mnt/data2, …: an exclusive disk attached elsewhere is skipped, a shared one
 *    attaches read-only while under max_attachments, the machine type's rule applies.
 * Each disk in its own savepoint: one failure never blocks the others, and this never throws into
 * the start (errors are logged and recorded). The results are one instance event.
 */
export async function onInstanceRunning(
  trx: Knex.Transaction,
  instanceId: string,
  at: Date,
  log?: Logger,
): Promise<AutoAttachSummary> {
  const out: AutoAttachSummary = { reapplied: [], attached: [], skipped: [], failed: [] };
  try {
    await trx.transaction(async (sp) => {
      const i = await getInstance(sp, instanceId, { lock: true });
      if (i.status !== "running" || !i.computeMachineId || !i.virtualMachineId) return;
      const place = { computeMachineId: i.computeMachineId, virtualMachineId: i.virtualMachineId };
      const held = await liveAttachmentsOfInstance(sp, i.id);
      for (const a of held.filter((x) => x.status === "attached")) {
        try {
          await sp.transaction(async (one) => {
            const disk = await getDisk(one, a.diskId);
            await transitionAttachment(one, a.id, "attaching", at, { error: "" });
            const c = await queueAttach(one, a, disk, place, at, null);
            await one(ATTACHMENTS).where({ id: a.id }).update({ command_id: c.id });
          });
          out.reapplied.push(a.diskId);
        } catch (err) {
          out.failed.push({ diskId: a.diskId, error: (err as Error).message });
        }
      }
      const mine = new Set(held.map((a) => a.diskId));
      for (const disk of await attachableDisksOf(sp, i.userId)) {
        if (mine.has(disk.id)) continue;
        try {
          await sp.transaction(async (one) => {
            const fresh = await getInstance(one, i.id);
            await attachInTransaction(one, {
              instance: fresh,
              disk: await getDisk(one, disk.id),
              mountPath: "",
              mountMode: null,
              origin: "auto",
              actorId: null,
              at,
            });
          });
          out.attached.push(disk.id);
        } catch (err) {
          // Rule refusals (in use elsewhere, shared and full, the machine type's limits) are skips.
          if (SKIP_REASONS.has((err as { reason?: string }).reason ?? ""))
            out.skipped.push({ diskId: disk.id, reason: (err as Error).message });
          else out.failed.push({ diskId: disk.id, error: (err as Error).message });
        }
      }
      const total = out.reapplied.length + out.attached.length + out.skipped.length + out.failed.length;
      if (total > 0)
        await recordDiskEvent(sp, {
          instanceId: i.id,
          message:
            `Auto-attach at start: ${out.attached.length} attaching, ${out.reapplied.length} re-applied, ` +
            `${out.skipped.length} skipped, ${out.failed.length} failed`,
          attributes: {
            attached: out.attached,
            reapplied: out.reapplied,
            skipped: out.skipped.map((s) => ({ disk_id: s.diskId, reason: s.reason })),
            failed: out.failed.map((f) => ({ disk_id: f.diskId, error: f.error })),
          },
          at,
        });
    });
  } catch (err) {
    log?.warn({ err, instanceId }, "Auto-attach at start failed; the instance runs without its data disks");
  }
  return out;
}
