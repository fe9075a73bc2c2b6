import type { Knex } from "knex";
import { FailedPreconditionError, ResourceExhaustedError } from "../domain/errors.js";
import type { Instance } from "../instances/instance.js";
import type { AttachableDisk } from "./disk-attachment.js";

export type MachineType = "cpu_server" | "pc_farm" | "gpu_server";

/** 000 §9.1: what an instance on one machine type may attach of one resource type. */
export interface AttachmentRule {
  machineType: MachineType;
  resourceType: "disk" | "network" | "gpu";
  maxAttachable: number;
  /** restrictions.min_instance_memory (GB); 0 = none. */
  minInstanceMemoryGb: number;
  /** restrictions.supported_disk_types; empty = every type. */
  supportedDiskTypes: string[];
}

export async function diskRuleFor(knex: Knex, machineType: MachineType): Promise<AttachmentRule | undefined> {
  const row = (await knex("instance_attachment_rules")
    .where({ machine_type: machineType, resource_type: "disk" })
    .whereNull("deleted_at")
    .first("machine_type", "resource_type", "max_attachable", "restrictions")) as Record<string, unknown> | undefined;
  if (!row) return undefined;
  const r = (row.restrictions ?? {}) as { min_instance_memory?: unknown; supported_disk_types?: unknown };
  return {
    machineType: row.machine_type as MachineType,
    resourceType: "disk",
    maxAttachable: Number(row.max_attachable),
    minInstanceMemoryGb: Number(r.min_instance_memory ?? 0) || 0,
    supportedDiskTypes: Array.isArray(r.supported_disk_types) ? r.supported_disk_types.map(String) : [],
  };
}

/**
 * The machine type whose rule applies: the machine the instance runs on, else the one its kept
 * (stopped) VM is defined on, else — never placed — gpu_server for an instance with GPUs and
 * cpu_server otherwise (the rule is checked when the attachment is made, not again at placement).
 */
export async function machineTypeOf(knex: Knex, i: Instance): Promise<MachineType> {
  let machineId = i.computeMachineId;
  if (!machineId) {
    const vm = (await knex("virtual_machines")
      .where({ instance_id: i.id })
      .whereNull("deleted_at")
      .first("compute_machine_id")) as { compute_machine_id: string } | undefined;
    machineId = vm?.compute_machine_id ?? null;
  }
  if (machineId) {
    const m = (await knex("compute_machines").where({ id: machineId }).first("machine_type")) as
      { machine_type: MachineType } | undefined;
    if (m) return m.machine_type;
  }
  return i.gpuCount > 0 ? "gpu_server" : "cpu_server";
}

/**
 * Refuses an attachment the instance's rule forbids. `held` is how many data disks the instance
 * holds now (read under the instance's row lock, so two attaches cannot both take the last slot).
 */
export async function assertDiskRuleAllows(knex: Knex, i: Instance, disk: AttachableDisk, held: number): Promise<void> {
  const machineType = await machineTypeOf(knex, i);
  const rule = await diskRuleFor(knex, machineType);
  const meta = { instance_id: i.id, disk_id: disk.id, machine_type: machineType };
  if (!rule)
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id} to instance ${i.id}: no attachment rule lets a ${machineType} instance attach disks`,
      { reason: "NO_ATTACHMENT_RULE", metadata: meta },
    );
  if (rule.minInstanceMemoryGb > 0 && i.memoryGb < rule.minInstanceMemoryGb)
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id} to instance ${i.id}: the ${machineType} rule needs at least ${rule.minInstanceMemoryGb} GB of instance memory (min_instance_memory), the instance has ${i.memoryGb} GB`,
      {
        reason: "INSTANCE_MEMORY_BELOW_RULE",
        metadata: { ...meta, min_instance_memory: String(rule.minInstanceMemoryGb) },
      },
    );
  if (rule.supportedDiskTypes.length > 0 && !rule.supportedDiskTypes.includes(disk.diskType))
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id} to instance ${i.id}: the ${machineType} rule supports disk types ${rule.supportedDiskTypes.join(", ")} (supported_disk_types), not ${disk.diskType}`,
      { reason: "DISK_TYPE_NOT_SUPPORTED", metadata: { ...meta, disk_type: disk.diskType } },
    );
  if (held >= rule.maxAttachable)
    throw new ResourceExhaustedError(
      `Cannot attach disk ${disk.id} to instance ${i.id}: a ${machineType} instance attaches at most ${rule.maxAttachable} data disks (max_attachable), and it has ${held}`,
      { reason: "MAX_ATTACHABLE_REACHED", metadata: { ...meta, max_attachable: String(rule.maxAttachable) } },
    );
}
