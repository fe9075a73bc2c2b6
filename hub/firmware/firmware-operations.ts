import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { FailedPreconditionError } from "../domain/errors.js";
import { cancelCommand } from "../fleet/command-store.js";
import { notifyFleet } from "../fleet/fleet-notifier.js";
import { getFirmwareRollout, versionHasUnfinishedRollout, type FirmwareRollout } from "./firmware-rollout-store.js";
import { getFirmwareVersion, markFirmwareVersionDeleted, type FirmwareVersion } from "./firmware-version-store.js";

/**
 * Soft-deletes a version no unfinished rollout uses. Its file stays in the store: boxes that run it
 * keep it in their slots, and the record stays readable for the rollouts that named it.
 */
export async function deleteFirmwareVersion(knex: Knex, caller: Caller, id: string): Promise<FirmwareVersion> {
  return knex.transaction(async (trx) => {
    const before = await getFirmwareVersion(trx, id, { forUpdate: true });
    if (await versionHasUnfinishedRollout(trx, id))
      throw new FailedPreconditionError(
        `Cannot delete firmware version ${before.version}: a rollout of it is still in progress (cancel it or wait for it to finish)`,
        { reason: "FIRMWARE_VERSION_IN_ROLLOUT", metadata: { firmware_version_id: id } },
      );
    const after = await markFirmwareVersionDeleted(trx, id, caller.at, caller.principal.userId);
    await recordChange(trx, caller, {
      tenantId: null,
      action: "firmware.delete_version",
      targetType: "firmware_version",
      targetId: id,
      before: { version: before.version, sha256: before.sha256 },
    });
    return after;
  });
}

/**
 * Cancels a rollout in progress: boxes that have not started are `cancelled` and their commands
 * withdrawn; a box already downloading or installing finishes (a half-written slot is worse than a
 * finished one) and its outcome is still recorded.
 */
export async function cancelFirmwareRollout(knex: Knex, caller: Caller, id: string): Promise<FirmwareRollout> {
  await knex.transaction(async (trx) => {
    const rollout = await getFirmwareRollout(trx, id, true);
    if (rollout.status !== "in_progress")
      throw new FailedPreconditionError(`Cannot cancel firmware rollout ${id}: it is already ${rollout.status}`, {
        reason: "ROLLOUT_FINISHED",
        metadata: { status: rollout.status },
      });
    const pending = rollout.boxes.filter((b) => b.status === "pending");
    for (const box of pending) {
      if (box.commandId) {
        const current = await trx("agent_commands")
          .where({ id: box.commandId })
          .first<{ state: string } | undefined>("state");
        // A command the box already runs is left to finish; the loop records its outcome.
        if (current && current.state !== "queued" && current.state !== "delivered") continue;
        if (current) {
          const { reachedAgent } = await cancelCommand(trx, box.commandId, "firmware rollout cancelled", caller.at);
          if (reachedAgent)
            await notifyFleet(trx, {
              t: "cancel",
              agentId: box.agentId,
              commandId: box.commandId,
              reason: "firmware rollout cancelled",
            });
        }
      }
      await trx("firmware_rollout_boxes").where({ id: box.id, status: "pending" }).update({
        status: "cancelled",
        detail: "The rollout was cancelled before the box started",
        finished_at: caller.at,
        updated_at: caller.at,
      });
    }
    await trx("firmware_rollouts").where({ id, status: "in_progress" }).update({
      status: "cancelled",
      finished_at: caller.at,
      updated_at: caller.at,
      updated_by: caller.principal.userId,
    });
    await recordChange(trx, caller, {
      tenantId: null,
      action: "firmware.cancel_rollout",
      targetType: "firmware_rollout",
      targetId: id,
      before: { status: rollout.status },
      after: { status: "cancelled", cancelledBoxes: pending.length },
    });
  });
  return getFirmwareRollout(knex, id);
}
