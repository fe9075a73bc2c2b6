import type { Knex } from "knex";
import type { HostInventory } from "../../lib/host-facts/host-facts.js";
import { newId } from "../db/ids.js";
import { recomputeTotals } from "./capacity-totals.js";
import { registerMachineGpus } from "./compute-machine-gpu-registry.js";
import { INITIAL_MACHINE_STATUS } from "./compute-machine-lifecycle.js";
import type { MachineType } from "./infrastructure-enums.js";
import { uuidArrayParam } from "../db/uuid-array.js";

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

function hardwareOf(inventory: HostInventory) {
  return {
    hostname: inventory.hostname,
    cpu_cores: inventory.cpu.threads || inventory.cpu.cores,
    memory_gb: Math.round((inventory.memoryTotalBytes / GIB) * 100) / 100,
    storage_gb: Math.round((inventory.disks.reduce((sum, d) => sum + d.sizeBytes, 0) / GIB) * 100) / 100,
    hypervisor_type: hypervisorName(inventory.hypervisorType),
  };
}

export interface ComputeMachineRegistration {
  grant: ComputeAgentGrant;
  inventory: HostInventory;
}

// 18 columns a row: chunks stay far below PostgreSQL's 65 535 bind parameters.
const INSERT_CHUNK = 1000;

/**
 * Compute agents' Hellos register their compute_machines rows (spec 000 §1.3) in the token's data
 * center and pool, or refresh the hardware columns of the rows they already have, with their GPUs
 * and their pools' and data centers' totals, in a fixed number of statements for any number of
 * agents. Allocation counters and operator-set status are left alone.
 */
export async function registerComputeMachines(
  trx: Knex.Transaction,
  items: readonly ComputeMachineRegistration[],
  now: Date,
): Promise<void> {
  const placed = items.filter((i) => i.grant.computePoolId && i.grant.edgeDataCenterId);
  if (placed.length === 0) return;
  const agentIds = uuidArrayParam(placed.map((i) => i.grant.agentId));
  // The pools whose totals change (the grants' and, for known machines, the one they are in now)
  // are locked first, in the order placements lock them (capacity-totals.ts).
  await trx.raw(
    `SELECT id FROM compute_pools
     WHERE id = ANY(?::uuid[])
        OR id IN (SELECT resource_pool_id FROM compute_machines WHERE agent_id = ANY(?::uuid[]) AND deleted_at IS NULL)
     ORDER BY id FOR NO KEY UPDATE`,
    [uuidArrayParam([...new Set(placed.map((i) => i.grant.computePoolId!))]), agentIds],
  );
  const existing = new Set(
    (
      await trx.raw<{ rows: { agent_id: string }[] }>(
        `SELECT agent_id FROM compute_machines WHERE agent_id = ANY(?::uuid[]) AND deleted_at IS NULL`,
        [agentIds],
      )
    ).rows.map((r) => r.agent_id),
  );
  const refresh = placed.filter((i) => existing.has(i.grant.agentId));
  if (refresh.length > 0) {
    await trx.raw(
      // Hardware reported below what is allocated (a DIMM died, a disk was pulled) must not
      // fail the whole Hello batch on the allocation CHECK: capacity stays at the allocation and
      // the machine is flagged; the reported values are kept, and capacity shrinks back to them
      // as the VMs leave (trigger compute_machines_shrink_to_reported).
      `UPDATE compute_machines AS m SET hostname = v.hostname,
         cpu_cores = GREATEST(v.cpu_cores, m.allocated_cpu_cores), memory_gb = GREATEST(v.memory_gb, m.allocated_memory_gb),
         storage_gb = GREATEST(v.storage_gb, m.allocated_storage_gb),
         capacity_shortfall = (v.cpu_cores < m.allocated_cpu_cores OR v.memory_gb < m.allocated_memory_gb
           OR v.storage_gb < m.allocated_storage_gb),
         reported_cpu_cores = v.cpu_cores, reported_memory_gb = v.memory_gb, reported_storage_gb = v.storage_gb,
         hypervisor_type = v.hypervisor_type, updated_at = ?
       FROM jsonb_to_recordset(?::jsonb) AS v(agent_id uuid, hostname text, cpu_cores int, memory_gb float8, storage_gb float8, hypervisor_type text)
       WHERE m.agent_id = v.agent_id AND m.deleted_at IS NULL`,
      [now, JSON.stringify(refresh.map((i) => ({ agent_id: i.grant.agentId, ...hardwareOf(i.inventory) })))],
    );
  }
  const fresh = placed
    .filter((i) => !existing.has(i.grant.agentId))
    .map((i) => {
      const hw = hardwareOf(i.inventory);
      return {
        id: newId(),
        ...hw,
        reported_cpu_cores: hw.cpu_cores,
        reported_memory_gb: hw.memory_gb,
        reported_storage_gb: hw.storage_gb,
        gpu_count: 0, // set from its GPU rows below
        updated_at: now,
        machine_type: machineTypeFor(i.grant.machineType, i.inventory),
        status: INITIAL_MACHINE_STATUS,
        health_status: "unknown",
        rental_mode: "shared",
        resource_pool_id: i.grant.computePoolId,
        edge_data_center_id: i.grant.edgeDataCenterId,
        agent_id: i.grant.agentId,
        created_at: now,
      };
    });
  for (let i = 0; i < fresh.length; i += INSERT_CHUNK)
    await trx("compute_machines").insert(fresh.slice(i, i + INSERT_CHUNK));
  // GPUs (and so gpu_count), then the totals of every pool and data center these machines count in.
  const machines = await registerMachineGpus(
    trx,
    placed.map((i) => ({ agentId: i.grant.agentId, gpus: i.inventory.gpus })),
    now,
  );
  await recomputeTotals(trx, machines);
}
