import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordAudit } from "../audit/audit-writer.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { FailedPreconditionError, PermissionDeniedError } from "../domain/errors.js";
import { listReachableInstances } from "../instance-sets/reachable-instances.js";
import { roleManagesSet } from "../instance-sets/set-roles.js";
import { getVisibleInstance } from "../instances/instance-access.js";
import type { Instance } from "../instances/instance.js";
import type { BoxBinding } from "./cloud-box.js";
import { BINDING_COLUMNS, getCloudBox, toBinding } from "./cloud-box-store.js";

// Temporary bindings (000 §1.6, §2.5.1 step 3, §2.5.3): a box opens the bound instance without a
// login until the binding is unbound or expires. One live binding per box (a unique partial index);
// every change is one transaction with its audit row, serialised on the box's row lock.

export type EndReason = "unbound" | "expired" | "replaced" | "decommissioned";

/** Ends the box's live binding (expired or not) in `trx`; returns it, or undefined when there was none. */
export async function endLiveBinding(
  trx: Knex.Transaction,
  boxId: string,
  reason: EndReason,
  at: Date,
  by: string | null,
): Promise<BoxBinding | undefined> {
  const rows = (await trx("cloud_box_bindings")
    .where({ cloud_box_id: boxId })
    .whereNull("ended_at")
    .update({ ended_at: at, end_reason: reason, ended_by: by })
    .returning(BINDING_COLUMNS)) as Record<string, unknown>[];
  return rows[0] ? toBinding(rows[0]) : undefined;
}

/**
 * 000 §2.5.4: teachers bind and unbind boxes. A `user` may do it only for instances of sets it
 * teaches (its own instance alone is not enough: boxes in a classroom are not a student's to take).
 */
async function assertMayBind(trx: Knex.Transaction, caller: Caller, instance: Instance, action: string): Promise<void> {
  if (caller.principal.role !== "user") return;
  const reach = (await listReachableInstances(trx, caller.principal.userId)).find((r) => r.instanceId === instance.id);
  const role = reach?.instanceSet?.memberRole;
  if (!role || !roleManagesSet(role))
    throw new PermissionDeniedError(
      `Cannot ${action} a cloud box for instance ${instance.id}: only a teacher of the instance's set may`,
    );
}

/**
 * Binds a box to an instance the caller can see (a tenant admin: its tenant's), replacing the box's
 * live binding. The box must be in service (not disabled or decommissioned) and the instance not
 * on its way out.
 */
export async function bindBox(
  knex: Knex,
  caller: Caller,
  input: { boxId: string; instanceId: string; expiresAt: Date | null },
): Promise<BoxBinding> {
  return knex.transaction(async (trx) => {
    const box = await getCloudBox(trx, input.boxId, { lock: true });
    if (box.status === "disabled" || box.status === "decommissioned")
      throw new FailedPreconditionError(`Cannot bind cloud box ${box.id}: it is ${box.status}`, {
        reason: box.status === "disabled" ? "BOX_DISABLED" : "BOX_DECOMMISSIONED",
        metadata: { cloud_box_id: box.id },
      });
    const instance = await getVisibleInstance(trx, caller.principal, input.instanceId);
    await assertMayBind(trx, caller, instance, "bind");
    if (instance.desiredState === "deleted" || instance.status === "terminating" || instance.status === "deleted")
      throw new FailedPreconditionError(
        `Cannot bind cloud box ${box.id} to instance ${instance.id}: the instance is being deleted`,
        { reason: "INSTANCE_NOT_USABLE", metadata: { instance_id: instance.id, status: instance.status } },
      );
    const replaced = await endLiveBinding(trx, box.id, "replaced", caller.at, caller.principal.userId);
    const binding: BoxBinding = {
      id: newId(),
      cloudBoxId: box.id,
      instanceId: instance.id,
      userId: instance.userId,
      expiresAt: input.expiresAt,
      createdAt: caller.at,
      createdBy: caller.principal.userId,
    };
    await trx("cloud_box_bindings").insert({
      id: binding.id,
      cloud_box_id: binding.cloudBoxId,
      instance_id: binding.instanceId,
      user_id: binding.userId,
      expires_at: binding.expiresAt,
      created_at: binding.createdAt,
      created_by: binding.createdBy,
    });
    await recordChange(trx, caller, {
      tenantId: instance.tenantId,
      action: "cloud_box.bind",
      targetType: "cloud_box",
      targetId: box.id,
      before: replaced ? { instanceId: replaced.instanceId, expiresAt: replaced.expiresAt } : undefined,
      after: { instanceId: binding.instanceId, userId: binding.userId, expiresAt: binding.expiresAt },
    });
    return binding;
  });
}

/** Ends a box's live binding; a box without one is failed_precondition NOT_BOUND. */
export async function unbindBox(knex: Knex, caller: Caller, boxId: string): Promise<BoxBinding> {
  return knex.transaction(async (trx) => {
    const box = await getCloudBox(trx, boxId, { lock: true });
    const live = (await trx("cloud_box_bindings")
      .where({ cloud_box_id: box.id })
      .whereNull("ended_at")
      .first(BINDING_COLUMNS)) as Record<string, unknown> | undefined;
    if (!live)
      throw new FailedPreconditionError(`Cannot unbind cloud box ${box.id}: it has no temporary binding`, {
        reason: "NOT_BOUND",
        metadata: { cloud_box_id: box.id },
      });
    // A tenant admin may end only bindings to its tenant's instances.
    const instance = await getVisibleInstance(trx, caller.principal, live.instance_id as string);
    await assertMayBind(trx, caller, instance, "unbind");
    const ended = (await endLiveBinding(trx, box.id, "unbound", caller.at, caller.principal.userId))!;
    await recordChange(trx, caller, {
      tenantId: instance.tenantId,
      action: "cloud_box.unbind",
      targetType: "cloud_box",
      targetId: box.id,
      before: { instanceId: ended.instanceId, expiresAt: ended.expiresAt },
    });
    return ended;
  });
}

/**
 * One pass of the expiry loop (inside its lease): ends bindings past their expiry, oldest first,
 * each with an audit row by the hub itself. Returns the bindings it ended.
 */
export async function expireBindings(trx: Knex.Transaction, now: Date, limit = 500): Promise<BoxBinding[]> {
  const due = trx("cloud_box_bindings")
    .whereNull("ended_at")
    .where("expires_at", "<=", now)
    .orderBy("expires_at")
    .limit(limit)
    .select("id");
  const rows = (await trx("cloud_box_bindings")
    .whereIn("id", due)
    .whereNull("ended_at")
    .update({ ended_at: now, end_reason: "expired" })
    .returning(BINDING_COLUMNS)) as Record<string, unknown>[];
  const ended = rows.map(toBinding);
  for (const b of ended) {
    const tenant = (await trx("instances").where({ id: b.instanceId }).first("tenant_id")) as
      { tenant_id: string } | undefined;
    await recordAudit(trx, {
      tenantId: tenant?.tenant_id ?? null,
      action: "cloud_box.binding_expired",
      targetType: "cloud_box",
      targetId: b.cloudBoxId,
      before: { instanceId: b.instanceId, expiresAt: b.expiresAt },
      requestId: `binding-expiry:${b.id}`,
      at: now,
    });
  }
  return ended;
}
