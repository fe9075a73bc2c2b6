import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { recordChange } from "../audit/record-change.js";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { revokeAgent } from "../fleet/agent-store.js";
import { createCommand } from "../fleet/command-store.js";
import { rebootBoxPayload } from "./box-agent-link.js";
import { notifyFleet } from "../fleet/fleet-notifier.js";
import type { CloudBox } from "./cloud-box.js";
import { endLiveBinding } from "./cloud-box-bindings.js";
import {
  DECOMMISSION,
  DISABLE,
  ENABLE_OFFLINE,
  ENABLE_ONLINE,
  END_MAINTENANCE_OFFLINE,
  END_MAINTENANCE_ONLINE,
  START_MAINTENANCE,
  moveBox,
  type BoxMove,
} from "../cloud-box-devices/cloud-box-lifecycle.js";
import { editableView } from "./cloud-box-rules.js";
import { getCloudBox } from "./cloud-box-store.js";

// The operators' mutations of a box: each one transaction, the box row locked, with its audit row.

/** A reboot_box command may wait this long for a box that is off. */
const REBOOT_DEADLINE_MS = 10 * 60_000;

export interface BoxPatch {
  name?: string;
  location?: string;
  tags?: Record<string, string>;
  assignedUserId?: string | null;
}

export async function updateBox(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  patch: BoxPatch,
): Promise<CloudBox> {
  return knex.transaction(async (trx) => {
    const before = await getCloudBox(trx, id, { lock: true });
    checkEtag(etag, editableView(before), "cloud box", id);
    if (patch.assignedUserId) {
      const user = await trx("users").where({ id: patch.assignedUserId }).whereNull("deleted_at").first("id");
      if (!user) throw new NotFoundError("user", patch.assignedUserId);
    }
    const columns: Record<string, unknown> = {};
    if (patch.name !== undefined) columns.name = patch.name;
    if (patch.location !== undefined) columns.location = patch.location;
    if (patch.tags !== undefined) columns.tags = JSON.stringify(patch.tags);
    if (patch.assignedUserId !== undefined) columns.assigned_user_id = patch.assignedUserId;
    if (Object.keys(columns).length === 0) return before;
    await trx("cloud_boxes")
      .where({ id })
      .update({ ...columns, updated_at: caller.at, updated_by: caller.principal.userId });
    const after = await getCloudBox(trx, id);
    await recordChange(trx, caller, {
      tenantId: null,
      action: "cloud_box.update",
      targetType: "cloud_box",
      targetId: id,
      before: editableView(before),
      after: editableView(after),
    });
    return after;
  });
}

async function applyMove(
  trx: Knex.Transaction,
  caller: Caller,
  box: CloudBox,
  move: BoxMove,
  action: string,
  details?: Record<string, unknown>,
): Promise<CloudBox> {
  if (!(await moveBox(trx, box.id, move, caller.at, caller.principal.userId)))
    throw new FailedPreconditionError(`Cannot ${move.name} cloud box ${box.id}: it is ${box.status}`, {
      reason: "BOX_STATUS",
      metadata: { cloud_box_id: box.id, status: box.status },
    });
  const after = await getCloudBox(trx, box.id);
  await recordChange(trx, caller, {
    tenantId: null,
    action,
    targetType: "cloud_box",
    targetId: box.id,
    before: { status: box.status },
    after: { status: after.status, ...details },
  });
  return after;
}

/** Disabling a disabled box returns it as it is. */
export async function disableBox(knex: Knex, caller: Caller, id: string): Promise<CloudBox> {
  return knex.transaction(async (trx) => {
    const box = await getCloudBox(trx, id, { lock: true });
    if (box.status === "disabled") return box;
    return applyMove(trx, caller, box, DISABLE, "cloud_box.disable");
  });
}

/** Back to online when the box's agent is connected, else offline; enabling an enabled box returns it. */
export async function enableBox(knex: Knex, caller: Caller, id: string): Promise<CloudBox> {
  return knex.transaction(async (trx) => {
    const box = await getCloudBox(trx, id, { lock: true });
    if (box.status !== "disabled" && box.status !== "decommissioned") return box;
    const agent = (await trx("agents").where({ id: box.agentId }).first("status")) as { status: string };
    return applyMove(
      trx,
      caller,
      box,
      agent.status === "connected" ? ENABLE_ONLINE : ENABLE_OFFLINE,
      "cloud_box.enable",
    );
  });
}

/** Maintenance (000 §1.6 online ⇄ maintenance); starting it on a box in maintenance returns it as it is. */
export async function startBoxMaintenance(knex: Knex, caller: Caller, id: string): Promise<CloudBox> {
  return knex.transaction(async (trx) => {
    const box = await getCloudBox(trx, id, { lock: true });
    if (box.status === "maintenance") return box;
    return applyMove(trx, caller, box, START_MAINTENANCE, "cloud_box.start_maintenance");
  });
}

export async function endBoxMaintenance(knex: Knex, caller: Caller, id: string): Promise<CloudBox> {
  return knex.transaction(async (trx) => {
    const box = await getCloudBox(trx, id, { lock: true });
    const agent = (await trx("agents").where({ id: box.agentId }).first("status")) as { status: string };
    const move = agent.status === "connected" ? END_MAINTENANCE_ONLINE : END_MAINTENANCE_OFFLINE;
    return applyMove(trx, caller, box, move, "cloud_box.end_maintenance");
  });
}

/**
 * Final: the box's certificate is revoked (its stream closed by the holder, reconnects refused), its
 * binding ended, and its serial number freed for a replacement device.
 */
export async function decommissionBox(knex: Knex, caller: Caller, id: string, reason: string): Promise<CloudBox> {
  return knex.transaction(async (trx) => {
    const box = await getCloudBox(trx, id, { lock: true });
    if (box.status === "decommissioned") return box;
    await endLiveBinding(trx, box.id, "decommissioned", caller.at, caller.principal.userId);
    const after = await applyMove(trx, caller, box, DECOMMISSION, "cloud_box.decommission", { reason });
    const { changed } = await revokeAgent(trx, box.agentId, reason || "cloud box decommissioned", caller.at);
    if (changed) await notifyFleet(trx, { t: "revoke", agentId: box.agentId });
    return after;
  });
}

/** Queues reboot_box for the box's agent (delivered when it is connected, expired after 10 min). */
export async function rebootBox(knex: Knex, caller: Caller, id: string, reason: string): Promise<string> {
  return knex.transaction(async (trx) => {
    const box = await getCloudBox(trx, id, { lock: true });
    if (box.status === "decommissioned")
      throw new FailedPreconditionError(`Cannot reboot cloud box ${id}: it is decommissioned`, {
        reason: "BOX_STATUS",
        metadata: { cloud_box_id: id, status: box.status },
      });
    const { kind, json } = rebootBoxPayload(reason);
    const { command } = await createCommand(trx, {
      agentId: box.agentId,
      kind,
      payload: json,
      deadline: new Date(caller.at.getTime() + REBOOT_DEADLINE_MS),
      idempotencyKey: null,
      createdBy: caller.principal.userId,
      now: caller.at,
    });
    await notifyFleet(trx, { t: "commands", agentId: box.agentId });
    await recordChange(trx, caller, {
      tenantId: null,
      action: "cloud_box.reboot",
      targetType: "cloud_box",
      targetId: id,
      after: { commandId: command.id, reason },
    });
    return command.id;
  });
}
