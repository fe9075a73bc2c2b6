import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { isUuid } from "../api/resource-id.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { createCommand } from "../fleet/command-store.js";
import { notifyFleet } from "../fleet/fleet-notifier.js";
import { installFirmwareCommand } from "./firmware-box-link.js";
import { healthDeadlineMs } from "./firmware-rules.js";
import { getFirmwareRollout, UNFINISHED_BOX_STATUSES, type FirmwareRollout } from "./firmware-rollout-store.js";
import { getFirmwareVersion, type FirmwareVersion } from "./firmware-version-store.js";
import { parseRolloutTag, pickPercentage } from "./rollout-targets.js";

export interface RolloutTargetInput {
  boxIds: readonly string[];
  tag: string;
  percentage: number;
}

export interface CreateRolloutInput extends RolloutTargetInput {
  firmwareVersionId: string;
  healthDeadlineMs: number;
}

/** How long a box may take to come online, download and report before its command expires. */
const COMMAND_BUDGET_MS = 60 * 60 * 1000;
/** Boxes that cannot take an install (000 §1.6 lifecycle). */
const UNREACHABLE_STATUSES = ["disabled", "decommissioned"];

interface BoxRow {
  id: string;
  agent_id: string;
  model: string;
  status: string;
  firmware_version: string;
}

type Target =
  { kind: "box_ids"; boxIds: string[] } | { kind: "tag"; tag: string } | { kind: "percentage"; percentage: number };

/** Exactly one of box ids, tag and percentage; each well formed. */
export function parseTarget(input: RolloutTargetInput): Target {
  const given = [input.boxIds.length > 0, input.tag !== "", input.percentage !== 0].filter(Boolean).length;
  if (given !== 1) throw new InvalidArgumentError("box_ids", "name exactly one target: box_ids, tag or percentage");
  if (input.boxIds.length > 0) {
    for (const id of input.boxIds)
      if (!isUuid(id))
        throw new InvalidArgumentError("box_ids", `${JSON.stringify(id.slice(0, 64))} is not a box id (UUID)`);
    return { kind: "box_ids", boxIds: [...new Set(input.boxIds.map((id) => id.toLowerCase()))].sort() };
  }
  if (input.tag !== "") {
    const { key } = parseRolloutTag(input.tag);
    if (key === "") throw new InvalidArgumentError("tag", "must be key or key=value with a non-empty key");
    return { kind: "tag", tag: input.tag };
  }
  if (!Number.isInteger(input.percentage) || input.percentage < 1 || input.percentage > 100)
    throw new InvalidArgumentError("percentage", `must be between 1 and 100, got ${input.percentage}`);
  return { kind: "percentage", percentage: input.percentage };
}

function fits(version: FirmwareVersion, box: BoxRow): boolean {
  return version.models.length === 0 || version.models.includes(box.model);
}

/** The boxes the target names, locked in id order (two rollouts over one box serialise here). */
async function selectBoxes(trx: Knex.Transaction, version: FirmwareVersion, target: Target): Promise<BoxRow[]> {
  const q = trx("cloud_boxes").whereNull("deleted_at").orderBy("id").forUpdate();
  if (target.kind === "box_ids") q.whereIn("id", target.boxIds);
  if (target.kind === "tag") {
    const { key, value } = parseRolloutTag(target.tag);
    if (value === undefined) q.whereRaw("tags \\? ?", [key]);
    else q.whereRaw("tags ->> ? = ?", [key, value]);
  }
  const rows = await q.select<BoxRow[]>("id", "agent_id", "model", "status", "firmware_version");
  if (target.kind === "box_ids") {
    const found = new Set(rows.map((r) => r.id));
    const missing = target.boxIds.find((id) => !found.has(id));
    if (missing) throw new NotFoundError("cloud box", missing);
    for (const box of rows) {
      if (UNREACHABLE_STATUSES.includes(box.status))
        throw new FailedPreconditionError(`Cannot roll firmware out to cloud box ${box.id}: it is ${box.status}`, {
          reason: "BOX_NOT_UPDATABLE",
          metadata: { box_id: box.id, status: box.status },
        });
      if (!fits(version, box))
        throw new FailedPreconditionError(
          `Cannot roll firmware ${version.version} out to cloud box ${box.id}: it is for models ${version.models.join(", ")}, the box is ${JSON.stringify(box.model)}`,
          { reason: "FIRMWARE_MODEL_MISMATCH", metadata: { box_id: box.id, model: box.model } },
        );
    }
    return rows.filter((b) => b.firmware_version !== version.version);
  }
  const eligible = rows.filter((b) => !UNREACHABLE_STATUSES.includes(b.status) && fits(version, b));
  // The percentage is of every eligible box, those already on the version included, so the
  // stable order (and so the canary) does not move as boxes finish.
  const picked =
    target.kind === "percentage"
      ? new Set(
          pickPercentage(
            eligible.map((b) => b.id),
            target.percentage,
          ),
        )
      : undefined;
  return eligible.filter((b) => (!picked || picked.has(b.id)) && b.firmware_version !== version.version);
}

/**
 * Creates a rollout: picks the boxes, refuses when one of them is still installing another
 * firmware, and queues one install_firmware command per box — rollout, boxes, commands and the
 * audit row in one transaction. The rollout loop (firmware-rollout-loop.ts) records the outcomes.
 */
export async function createFirmwareRollout(
  knex: Knex,
  caller: Caller,
  input: CreateRolloutInput,
): Promise<FirmwareRollout> {
  if (!isUuid(input.firmwareVersionId)) throw new InvalidArgumentError("firmware_version_id", "must be a UUID");
  const target = parseTarget(input);
  const deadlineMs = healthDeadlineMs("health_deadline_ms", input.healthDeadlineMs);
  const rolloutId = newId();
  await knex.transaction(async (trx) => {
    // Shares the row with DeleteFirmwareVersion's FOR UPDATE: a version cannot vanish under a new rollout.
    const version = await getFirmwareVersion(trx, input.firmwareVersionId, { forUpdate: true });
    const boxes = await selectBoxes(trx, version, target);
    if (boxes.length === 0)
      throw new FailedPreconditionError(
        `Cannot roll firmware ${version.version} out: no box of the target needs it (none fits its models, or all run it already)`,
        { reason: "NO_BOXES_TO_UPDATE", metadata: { firmware_version_id: version.id } },
      );
    const busy = await trx("firmware_rollout_boxes")
      .whereIn(
        "box_id",
        boxes.map((b) => b.id),
      )
      .whereIn("status", UNFINISHED_BOX_STATUSES)
      .first<{ box_id: string; rollout_id: string } | undefined>("box_id", "rollout_id");
    if (busy)
      throw new FailedPreconditionError(
        `Cannot roll firmware ${version.version} out to cloud box ${busy.box_id}: rollout ${busy.rollout_id} is still installing firmware on it`,
        { reason: "BOX_FIRMWARE_BUSY", metadata: { box_id: busy.box_id, rollout_id: busy.rollout_id } },
      );
    const at = caller.at;
    await trx("firmware_rollouts").insert({
      id: rolloutId,
      firmware_version_id: version.id,
      target_kind: target.kind,
      target_box_ids: JSON.stringify(target.kind === "box_ids" ? target.boxIds : []),
      target_tag: target.kind === "tag" ? target.tag : null,
      target_percentage: target.kind === "percentage" ? target.percentage : null,
      health_deadline_ms: deadlineMs,
      status: "in_progress",
      created_at: at,
      updated_at: at,
      created_by: caller.principal.userId,
      updated_by: caller.principal.userId,
    });
    const { kind, json } = installFirmwareCommand(version, deadlineMs);
    const deadline = new Date(at.getTime() + COMMAND_BUDGET_MS + deadlineMs);
    for (const box of boxes) {
      const { command } = await createCommand(trx, {
        agentId: box.agent_id,
        kind,
        payload: json,
        deadline,
        idempotencyKey: `firmware-rollout:${rolloutId}`,
        createdBy: caller.principal.userId,
        now: at,
      });
      await trx("firmware_rollout_boxes").insert({
        id: newId(),
        rollout_id: rolloutId,
        box_id: box.id,
        agent_id: box.agent_id,
        command_id: command.id,
        status: "pending",
        created_at: at,
        updated_at: at,
      });
      await notifyFleet(trx, { t: "commands", agentId: box.agent_id });
    }
    await recordChange(trx, caller, {
      tenantId: null,
      action: "firmware.create_rollout",
      targetType: "firmware_rollout",
      targetId: rolloutId,
      after: { firmwareVersionId: version.id, version: version.version, target, boxes: boxes.map((b) => b.id) },
    });
  });
  return getFirmwareRollout(knex, rolloutId);
}
