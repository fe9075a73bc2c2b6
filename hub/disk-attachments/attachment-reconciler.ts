import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { eachInSavepoint, LeasedLoop } from "../background/leased-loop.js";
import { isFinal } from "../fleet/command-lifecycle.js";
import { getCommand, type AgentCommand } from "../fleet/command-store.js";
import { attachedDiskOf } from "./attachment-agent-link.js";
import { recordDiskEvent } from "./attachment-events.js";
import type { AttachmentStatus } from "./disk-attachment.js";
import { transitionAttachment } from "./disk-attachment-lifecycle.js";
import { ATTACHMENTS } from "./disk-attachment-store.js";

export interface AttachmentReconcilerDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  /** From hub/db/advisory-lock-keys.ts. */
  lockKey: number;
  intervalMs: number;
  onPass?: () => void;
}

const BATCH = 200;

interface InFlight {
  id: string;
  instance_id: string;
  disk_id: string;
  target_dev: string;
  status: AttachmentStatus;
  command_id: string | null;
}

/**
 * Moves attachments on what the agents report (level-triggered, one leased pass at a time):
 * attaching → attached | failed, detaching → detached | attached (error kept), each in its own
 * savepoint. Attachments of deleted instances are released: their domain is gone with the instance.
 */
export class AttachmentReconciler extends LeasedLoop {
  constructor(private readonly deps: AttachmentReconcilerDeps) {
    super({ ...deps, name: "disk-attachment-reconciler" });
  }

  protected async pass(trx: Knex.Transaction): Promise<number> {
    const now = this.deps.clock.now();
    const rows = (await trx(ATTACHMENTS)
      .whereNull("deleted_at")
      .whereIn("status", ["attaching", "detaching"])
      .orderBy("updated_at")
      .limit(BATCH)
      .select("id", "instance_id", "disk_id", "target_dev", "status", "command_id")) as InFlight[];
    await eachInSavepoint(
      trx,
      rows,
      (sp, r) => this.settle(sp, r, now),
      (err, r) =>
        this.deps.log.warn({ err, attachmentId: r.id }, "Settling disk attachment failed; retrying next pass"),
    );
    await trx
      .transaction((sp) => releaseDeletedInstances(sp, now))
      .catch((err: unknown) => this.deps.log.warn({ err }, "Releasing attachments of deleted instances failed"));
    return rows.length;
  }

  private async settle(trx: Knex.Transaction, r: InFlight, now: Date): Promise<void> {
    if (!r.command_id) return;
    const c: AgentCommand = await getCommand(trx, r.command_id);
    if (!isFinal(c.state)) return;
    const report = c.state === "succeeded" ? attachedDiskOf(c) : undefined;
    const error =
      c.state === "succeeded"
        ? ""
        : c.state === "expired"
          ? "the agent did not finish before the deadline"
          : c.error || c.state;
    const event = (message: string) =>
      recordDiskEvent(trx, {
        instanceId: r.instance_id,
        message,
        attributes: { attachment_id: r.id, disk_id: r.disk_id, command_id: c.id },
        at: now,
      });
    if (r.status === "attaching") {
      if (report?.attached) {
        await transitionAttachment(trx, r.id, "attached", now, { attached_at: now, error: "", command_id: null });
        await event(`Disk ${r.disk_id} attached as ${r.target_dev}${report.live ? "" : " (definition only)"}`);
      } else {
        const why = error || "the agent reports the disk not attached";
        await transitionAttachment(trx, r.id, "failed", now, { error: why, command_id: null });
        await event(`Attaching disk ${r.disk_id} as ${r.target_dev} failed: ${why}`);
      }
      return;
    }
    if (report && !report.attached) {
      await transitionAttachment(trx, r.id, "detached", now, { error: "", command_id: null });
      await event(`Disk ${r.disk_id} detached (${r.target_dev})`);
      return;
    }
    const why = error || `the guest did not release ${r.target_dev}; it stays attached`;
    await transitionAttachment(trx, r.id, "attached", now, { error: why, command_id: null });
    await event(`Detaching disk ${r.disk_id} (${r.target_dev}) failed: ${why}`);
  }
}

/** Attachments whose instance was deleted: the domain went with it, so the disks are free again. */
async function releaseDeletedInstances(trx: Knex.Transaction, now: Date): Promise<void> {
  const rows = (await trx(`${ATTACHMENTS} as a`)
    .join("instances as i", "i.id", "a.instance_id")
    .whereNull("a.deleted_at")
    .where("i.status", "deleted")
    .limit(BATCH)
    .select("a.id", "a.status")) as { id: string; status: AttachmentStatus }[];
  for (const r of rows) {
    // Through the state machine: attached → detaching → detached, attaching → failed → detached.
    if (r.status === "attached") await transitionAttachment(trx, r.id, "detaching", now);
    if (r.status === "attaching")
      await transitionAttachment(trx, r.id, "failed", now, { error: "the instance was deleted", command_id: null });
    await transitionAttachment(trx, r.id, "detached", now, { command_id: null });
  }
}
