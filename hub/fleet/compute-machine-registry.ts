import type { Knex } from "knex";
import type { HostInventory } from "../../lib/host-facts/host-facts.js";
import { newId } from "../db/ids.js";
import type { MachineType } from "./agent-role.js";

const GIB = 1024 ** 3;

export interface ComputeAgentGrant {
  agentId: string;
  edgeDataCenterId: string | null;
  computePoolId: string | null;
  machineType: MachineType | null;
}

/** The token's machine type wins; otherwise GPUs make a gpu_server and anything else a cpu_server. */
export function machineTypeFor(grant: MachineType | null, inventory: HostInventory): MachineType {
  return grant ?? (inventory.gpus.length > 0 ? "gpu_server" : "cpu_server");
}

/** Spec 000 names KVM, Hyper-V and VMware; the agent reports libvirt as "kvm". */
function hypervisorName(reported: string): string {
  const r = reported.toLowerCase();
  if (r === "kvm" || r === "qemu") return "KVM";
  if (r.includes("hyper")) return "Hyper-V";
  if (r.includes("vmware")) return "VMware";
  return reported || "none";
}

/**
 * A compute agent's Hello registers its compute_machines row (spec 000 §1.3) in the token's data
 * center and pool, or refreshes the hardware columns of the row it already has. Allocation
 * counters and operator-set status are left alone.
 */
export async function registerComputeMachine(trx: Knex.Transaction, grant: ComputeAgentGrant, inventory: HostInventory, now: Date): Promise<string | null> {
  if (!grant.computePoolId || !grant.edgeDataCenterId) return null;
  const hardware = {
    hostname: inventory.hostname,
    cpu_cores: inventory.cpu.threads || inventory.cpu.cores,
    memory_gb: Math.round((inventory.memoryTotalBytes / GIB) * 100) / 100,
    storage_gb: Math.round((inventory.disks.reduce((sum, d) => sum + d.sizeBytes, 0) / GIB) * 100) / 100,
    gpu_count: inventory.gpus.length,
    hypervisor_type: hypervisorName(inventory.hypervisorType),
    updated_at: now,
  };
  const existing = await trx("compute_machines").where({ agent_id: grant.agentId }).whereNull("deleted_at").first<{ id: string } | undefined>("id");
  if (existing) {
    await trx("compute_machines").where({ id: existing.id }).update(hardware);
    return existing.id;
  }
  const id = newId();
  await trx("compute_machines").insert({
    id, ...hardware, machine_type: machineTypeFor(grant.machineType, inventory), status: "active", health_status: "unknown", rental_mode: "shared",
    resource_pool_id: grant.computePoolId, edge_data_center_id: grant.edgeDataCenterId, agent_id: grant.agentId, created_at: now,
  });
  return id;
}
