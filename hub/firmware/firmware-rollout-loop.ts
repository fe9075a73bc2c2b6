import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { leasedTask } from "../background/leased-task.js";
import type { PeriodicTask } from "../background/periodic-task.js";
import { outcomeOf } from "./firmware-box-link.js";
import type { RolloutBoxStatus } from "./firmware-rollout-store.js";

interface WorkRow {
  id: string;
  rollout_id: string;
  box_id: string;
  status: RolloutBoxStatus;
  version: string;
  command_state: string | null;
  command_result: unknown;
  command_error: string | null;
}

/**
 * One pass: reads the commands of unfinished rollout boxes, records each box's outcome (and the
 * version an `installed` box now runs on its cloud_boxes row), and completes rollouts with no
 * unfinished box. Level-triggered: a pass that fails is simply repeated.
 */
export async function collectRolloutOutcomes(trx: Knex.Transaction, now: Date): Promise<number> {
  const rows = await trx("firmware_rollout_boxes as rb")
    .join("firmware_rollouts as r", "r.id", "rb.rollout_id")
    .join("firmware_versions as v", "v.id", "r.firmware_version_id")
    .leftJoin("agent_commands as c", "c.id", "rb.command_id")
    .whereIn("rb.status", ["pending", "downloading"])
    .orderBy("rb.id")
    .limit(500)
    .select<WorkRow[]>(
      "rb.id",
      "rb.rollout_id",
      "rb.box_id",
      "rb.status",
      "v.version",
      "c.state as command_state",
      "c.result as command_result",
      "c.error as command_error",
    );
  let changed = 0;
  for (const row of rows) {
    const outcome = outcomeOf(row);
    if (!outcome || outcome.status === row.status) continue;
    const finished = outcome.status !== "downloading";
    const updated = await trx("firmware_rollout_boxes")
      .where({ id: row.id, status: row.status })
      .update({
        status: outcome.status,
        detail: outcome.detail,
        active_slot: outcome.activeSlot,
        updated_at: now,
        ...(finished ? { finished_at: now } : { started_at: now }),
      });
    if (updated === 0) continue;
    changed++;
    if (outcome.status === "installed")
      await trx("cloud_boxes").where({ id: row.box_id }).update({ firmware_version: row.version, updated_at: now });
  }
  await trx("firmware_rollouts")
    .where("status", "in_progress")
    .whereNotExists(
      trx("firmware_rollout_boxes")
        .whereRaw("firmware_rollout_boxes.rollout_id = firmware_rollouts.id")
        .whereIn("firmware_rollout_boxes.status", ["pending", "downloading"]),
    )
    .update({ status: "completed", finished_at: now, updated_at: now });
  return changed;
}

export function startFirmwareRolloutLoop(deps: {
  knex: Knex;
  clock: Clock;
  log: Logger;
  lockKey: number;
  intervalMs: number;
}): PeriodicTask {
  const task = leasedTask({
    name: "firmware-rollouts",
    intervalMs: deps.intervalMs,
    knex: deps.knex,
    lockKey: deps.lockKey,
    log: deps.log,
    run: (trx) => collectRolloutOutcomes(trx, deps.clock.now()),
  });
  task.start();
  return task;
}
