import type { Knex } from "knex";
import { FailedPreconditionError } from "../domain/errors.js";
import type { Instance } from "../instances/instance.js";
import { queueDetach, type RunningPlace } from "./attachment-agent-link.js";
import { recordDiskEvent } from "./attachment-events.js";
import type { DiskAttachment } from "./disk-attachment.js";
import { transitionAttachment } from "./disk-attachment-lifecycle.js";
import { ATTACHMENTS, getAttachment } from "./disk-attachment-store.js";

/**
 * Where the instance's domain is defined (running, or shut off but kept by a stop), or undefined
 * when it has none: then nothing on a host holds the disk and a detach is only a record.
 */
async function definedDomainOf(trx: Knex.Transaction, i: Instance): Promise<RunningPlace | undefined> {
  if (i.computeMachineId && i.virtualMachineId)
    return { computeMachineId: i.computeMachineId, virtualMachineId: i.virtualMachineId };
  const vm = (await trx("virtual_machines")
    .where({ instance_id: i.id })
    .whereNull("deleted_at")
    .whereNotIn("status", ["creating", "deleted"])
    .first("id", "compute_machine_id")) as { id: string; compute_machine_id: string } | undefined;
  return vm ? { computeMachineId: vm.compute_machine_id, virtualMachineId: vm.id } : undefined;
}

/**
 * DetachDisk in the caller's transaction (instance row locked): a failed attachment is simply
 * removed; an attached one leaves the domain through detach_disk (running or defined), or at once
 * when no domain holds it. An attach or detach still with the agent is refused: wait for it.
 */
export async function detachInTransaction(
  trx: Knex.Transaction,
  i: Instance,
  a: DiskAttachment,
  actorId: string | null,
  at: Date,
): Promise<DiskAttachment | undefined> {
  if (a.status === "attaching" || a.status === "detaching")
    throw new FailedPreconditionError(
      `Cannot detach disk ${a.diskId} from instance ${i.id}: the attachment is ${a.status}; wait until the agent finished`,
      { reason: "ATTACHMENT_IN_FLIGHT", metadata: { attachment_id: a.id, status: a.status } },
    );
  const place = a.status === "attached" ? await definedDomainOf(trx, i) : undefined;
  if (!place) {
    // No domain holds it: detaching and detached in one go, through the state machine.
    if (a.status === "attached") await transitionAttachment(trx, a.id, "detaching", at, { updated_by: actorId });
    await transitionAttachment(trx, a.id, "detached", at, { updated_by: actorId });
    await recordDiskEvent(trx, {
      instanceId: i.id,
      message: `Disk ${a.diskId} detached (${a.targetDev}, ${a.mountPath})`,
      attributes: { attachment_id: a.id, disk_id: a.diskId },
      at,
    });
    return undefined;
  }
  await transitionAttachment(trx, a.id, "detaching", at, { updated_by: actorId, error: "" });
  const command = await queueDetach(trx, a, place, at, actorId);
  await trx(ATTACHMENTS).where({ id: a.id }).update({ command_id: command.id });
  await recordDiskEvent(trx, {
    instanceId: i.id,
    message: `Detaching disk ${a.diskId} (${a.targetDev})`,
    attributes: { attachment_id: a.id, disk_id: a.diskId, command_id: command.id },
    at,
  });
  return getAttachment(trx, a.id);
}
