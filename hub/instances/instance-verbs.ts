import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { recordChange } from "../audit/record-change.js";
import { checkImageVersionForInstance } from "../catalog/image-resolution.js";
import { releaseImageVersionUse } from "../catalog/image-version-usage.js";
import { newId } from "../db/ids.js";
import { FailedPreconditionError } from "../domain/errors.js";
import type { Instance } from "./instance.js";
import type { DesiredState } from "./instance-enums.js";
import { assertInstanceTransition, IllegalInstanceTransitionError } from "./instance-lifecycle.js";
import { assertNotStudentInstance, getVisibleInstance } from "./instance-access.js";
import { validateSize, type SizeInput } from "./instance-spec-rules.js";
import { chargeInstanceQuota, moveInstance } from "./instance-status.js";
import { getInstance, liveVmOf } from "./instance-store.js";
import { recordInstanceEvent } from "./instance-events.js";

/** How long each operation may take before the reconciler fails it with a readable reason. */
export interface OperationTimeouts {
  stopTimeoutMs: number;
  deleteTimeoutMs: number;
  suspendTimeoutMs: number;
}

type Verb = "stop" | "restart" | "suspend" | "resume" | "delete";

/** One state verb: lock, check the move, write desired state (+ status), event and audit, all in one transaction. */
async function applyVerb(
  knex: Knex,
  caller: Caller,
  id: string,
  verb: Verb,
  plan: (i: Instance, trx: Knex.Transaction) => Promise<void>,
): Promise<Instance> {
  return knex.transaction(async (trx) => {
    const before = await getVisibleInstance(trx, caller.principal, id, { lock: true });
    await plan(before, trx);
    const after = await getInstance(trx, id, { includeDeleted: true });
    await recordChange(trx, caller, {
      tenantId: before.tenantId,
      action: `instance.${verb}`,
      targetType: "instance",
      targetId: id,
      before: { status: before.status, desiredState: before.desiredState },
      after: { status: after.status, desiredState: after.desiredState },
    });
    return after;
  });
}

function operation(caller: Caller, desired: DesiredState, timeoutMs: number) {
  return {
    desired_state: desired,
    operation_id: newId(),
    operation_deadline: new Date(caller.at.getTime() + timeoutMs),
    last_error: "",
    updated_by: caller.principal.userId,
  };
}

/** StopInstance: running, suspended or initializing → stopping; the reconciler shuts the domain down. */
export function stopInstance(knex: Knex, caller: Caller, id: string, t: OperationTimeouts): Promise<Instance> {
  return applyVerb(knex, caller, id, "stop", async (i, trx) => {
    assertInstanceTransition(id, i.status, "stopping", `stop instance ${id}`);
    await moveInstance(trx, i, "stopping", caller.at, `stop requested by ${caller.principal.username}`, {
      ...operation(caller, "stopped", t.stopTimeoutMs),
      pending_action: null,
    });
  });
}

/** RestartInstance: a running instance stays running while its domain is shut down and started again. */
export function restartInstance(knex: Knex, caller: Caller, id: string, t: OperationTimeouts): Promise<Instance> {
  return applyVerb(knex, caller, id, "restart", async (i, trx) => {
    if (i.status !== "running" || i.pendingAction !== null)
      throw new FailedPreconditionError(
        `Cannot restart instance ${id}: it is ${i.pendingAction ? "already restarting" : i.status}; only a running instance restarts`,
        { reason: "INSTANCE_NOT_RUNNING", metadata: { instance_id: id, status: i.status } },
      );
    await trx("instances")
      .where({ id, status: "running" })
      .update({
        ...operation(caller, "running", t.stopTimeoutMs * 2),
        pending_action: "restart",
        updated_at: caller.at,
      });
    await recordInstanceEvent(trx, {
      instanceId: id,
      kind: "status",
      message: `Restart requested by ${caller.principal.username}`,
      at: caller.at,
    });
  });
}

/** SuspendInstance (running → suspended once the agent paused the domain). */
export function suspendInstance(knex: Knex, caller: Caller, id: string, t: OperationTimeouts): Promise<Instance> {
  return applyVerb(knex, caller, id, "suspend", async (i, trx) => {
    assertInstanceTransition(id, i.status, "suspended", `suspend instance ${id}`);
    if (i.pendingAction !== null) throw new IllegalInstanceTransitionError(id, i.status, "suspended");
    await desire(trx, caller, i, "suspended", t.suspendTimeoutMs, "Suspend");
  });
}

/** ResumeInstance (suspended → running once the agent resumed the domain). */
export function resumeInstance(knex: Knex, caller: Caller, id: string, t: OperationTimeouts): Promise<Instance> {
  return applyVerb(knex, caller, id, "resume", async (i, trx) => {
    assertInstanceTransition(id, i.status, "running", `resume instance ${id}`);
    if (i.status !== "suspended")
      throw new IllegalInstanceTransitionError(id, i.status, "running", `resume instance ${id}`);
    await desire(trx, caller, i, "running", t.suspendTimeoutMs, "Resume");
  });
}

async function desire(
  trx: Knex.Transaction,
  caller: Caller,
  i: Instance,
  desired: DesiredState,
  timeoutMs: number,
  what: string,
): Promise<void> {
  await trx("instances")
    .where({ id: i.id, status: i.status })
    .update({ ...operation(caller, desired, timeoutMs), updated_at: caller.at });
  await recordInstanceEvent(trx, {
    instanceId: i.id,
    kind: "status",
    message: `${what} requested by ${caller.principal.username}`,
    attributes: { desired_state: desired },
    at: caller.at,
  });
}

/**
 * DeleteInstance: → terminating. Without a VM nothing is on any host, so it is deleted at once
 * (quota and image-version use returned); otherwise the reconciler undefines the domain first.
 */
export function deleteInstance(knex: Knex, caller: Caller, id: string, t: OperationTimeouts): Promise<Instance> {
  return applyVerb(knex, caller, id, "delete", async (i, trx) => {
    await assertNotStudentInstance(trx, caller.principal, i, "delete");
    assertInstanceTransition(id, i.status, "terminating", `delete instance ${id}`);
    await moveInstance(trx, i, "terminating", caller.at, `delete requested by ${caller.principal.username}`, {
      ...operation(caller, "deleted", t.deleteTimeoutMs),
      pending_action: null,
    });
    if (!(await liveVmOf(trx, id))) await finishDelete(trx, { ...i, status: "terminating" }, caller.at);
  });
}

/** terminating → deleted: soft delete, quota and the image version's use returned. */
export async function finishDelete(trx: Knex.Transaction, i: Instance, at: Date): Promise<void> {
  await moveInstance(trx, i, "deleted", at, "nothing is left on any host", {
    deleted_at: at,
    compute_machine_id: null,
    virtual_machine_id: null,
    resource_pool_id: null,
    operation_deadline: null,
  });
  await releaseImageVersionUse(trx, i.id);
}

/** UpdateInstance: name and description only (state changes are verbs). */
export async function updateInstance(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  patch: { name?: string; description?: string },
): Promise<Instance> {
  return knex.transaction(async (trx) => {
    const before = await getVisibleInstance(trx, caller.principal, id, { lock: true });
    await assertNotStudentInstance(trx, caller.principal, before, "update");
    checkEtag(etag, before, "instance", id);
    await trx("instances")
      .where({ id })
      .update({ ...patch, updated_at: caller.at, updated_by: caller.principal.userId });
    const after = await getInstance(trx, id);
    await recordChange(trx, caller, {
      tenantId: before.tenantId,
      action: "instance.update",
      targetType: "instance",
      targetId: id,
      before: { name: before.name, description: before.description },
      after: { name: after.name, description: after.description },
    });
    return after;
  });
}

/**
 * ResizeInstance: only while stopped (000 §3.0.1: storage grows, never shrinks); the image's
 * requirements and the quota are checked again, in the transaction that writes the new size.
 */
export async function resizeInstance(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  change: Partial<SizeInput>,
): Promise<Instance> {
  return knex.transaction(async (trx) => {
    const before = await getVisibleInstance(trx, caller.principal, id, { lock: true });
    await assertNotStudentInstance(trx, caller.principal, before, "resize");
    checkEtag(etag, before, "instance", id);
    if (before.status !== "stopped" || before.desiredState !== "stopped")
      throw new FailedPreconditionError(
        `Cannot resize instance ${id}: it is ${before.status}; stop it first (only a stopped instance is resized)`,
        { reason: "INSTANCE_NOT_STOPPED", metadata: { instance_id: id, status: before.status } },
      );
    const size = validateSize(
      {
        cpuCores: change.cpuCores ?? before.cpuCores,
        memoryGb: change.memoryGb ?? before.memoryGb,
        storageGb: change.storageGb ?? before.storageGb,
        gpuCount: change.gpuCount ?? before.gpuCount,
        gpuModel: change.gpuModel !== undefined ? change.gpuModel : before.gpuModel,
      },
      "",
    );
    if (size.storageGb < before.storageGb)
      throw new FailedPreconditionError(
        `Cannot resize instance ${id}: storage_gb ${size.storageGb} is below the current ${before.storageGb}; system disks grow, never shrink`,
        { reason: "STORAGE_SHRINK", metadata: { instance_id: id } },
      );
    await checkImageVersionForInstance(trx, before.imageVersionId, size, { newInstance: false });
    await trx("instances").where({ id, status: "stopped" }).update({
      cpu_cores: size.cpuCores,
      memory_gb: size.memoryGb,
      storage_gb: size.storageGb,
      gpu_count: size.gpuCount,
      gpu_model: size.gpuModel,
      updated_at: caller.at,
      updated_by: caller.principal.userId,
    });
    const after = await getInstance(trx, id);
    await chargeInstanceQuota(trx, after, "stopped");
    await recordInstanceEvent(trx, {
      instanceId: id,
      kind: "status",
      message: `Resized to ${size.cpuCores} CPU, ${size.memoryGb} GB memory, ${size.storageGb} GB storage, ${size.gpuCount} GPU`,
      attributes: { ...size },
      at: caller.at,
    });
    await recordChange(trx, caller, {
      tenantId: before.tenantId,
      action: "instance.resize",
      targetType: "instance",
      targetId: id,
      before: { cpuCores: before.cpuCores, memoryGb: before.memoryGb, storageGb: before.storageGb },
      after: { cpuCores: after.cpuCores, memoryGb: after.memoryGb, storageGb: after.storageGb },
    });
    return after;
  });
}
