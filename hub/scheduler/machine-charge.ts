import type { Knex } from "knex";
import { uuidArrayParam } from "../db/uuid-array.js";
import type { PlacementChoice } from "./choose-placement.js";
import type { PlacementRequest } from "./placement-request.js";

// Charging a chosen machine: guarded UPDATEs that only succeed while the snapshot's choice still
// holds (the CHECK on compute_machines is the last line behind them), then the pool's counters and
// the allocation row that release reads back.

/**
 * Charges machine and GPUs for `choice`; false when the machine changed since the snapshot (the
 * caller rolls the attempt back and decides again).
 */
export async function chargeMachine(
  trx: Knex.Transaction,
  choice: PlacementChoice,
  req: PlacementRequest,
): Promise<boolean> {
  const { machine, charge } = choice;
  const gpus = charge.gpus.length;
  // Exclusive takes the machine as the snapshot saw it: empty, and no smaller than charged.
  const exclusiveGuard = choice.exclusive
    ? `AND allocated_cpu_cores = 0 AND allocated_memory_gb = 0 AND allocated_storage_gb = 0 AND allocated_gpu_count = 0`
    : "";
  const updated = await trx.raw(
    `UPDATE compute_machines
        SET allocated_cpu_cores = allocated_cpu_cores + ?, allocated_memory_gb = allocated_memory_gb + ?,
            allocated_storage_gb = allocated_storage_gb + ?, allocated_gpu_count = allocated_gpu_count + ?,
            last_placed_at = clock_timestamp()
      WHERE id = ? AND deleted_at IS NULL AND status = 'active' AND rental_mode = ?
        AND allocated_cpu_cores + ? <= cpu_cores AND allocated_memory_gb + ? <= memory_gb
        AND allocated_storage_gb + ? <= storage_gb AND allocated_gpu_count + ? <= gpu_count ${exclusiveGuard}
      RETURNING id`,
    [
      charge.cpuCores,
      charge.memoryGb,
      charge.storageGb,
      gpus,
      machine.id,
      req.rentalMode,
      charge.cpuCores,
      charge.memoryGb,
      charge.storageGb,
      gpus,
    ],
  );
  if ((updated as { rows: unknown[] }).rows.length !== 1) return false;
  if (gpus > 0) {
    const taken = await trx.raw(
      `UPDATE compute_machine_gpus SET status = 'allocated', allocated_vm_id = ?, updated_at = clock_timestamp()
        WHERE id = ANY(?::uuid[]) AND compute_machine_id = ? AND status = 'available' RETURNING id`,
      [req.vmId, uuidArrayParam(charge.gpus.map((g) => g.id)), machine.id],
    );
    if ((taken as { rows: unknown[] }).rows.length !== gpus) return false;
  }
  await trx("compute_pools").where("id", choice.pool.id).increment({
    allocated_cpu_cores: charge.cpuCores,
    allocated_memory_gb: charge.memoryGb,
    allocated_storage_gb: charge.storageGb,
    allocated_gpu_count: gpus,
  });
  await trx("machine_allocations").insert({
    vm_id: req.vmId,
    instance_id: req.instanceId,
    compute_machine_id: machine.id,
    compute_pool_id: choice.pool.id,
    cpu_cores: charge.cpuCores,
    memory_gb: charge.memoryGb,
    storage_gb: charge.storageGb,
    gpu_ids: JSON.stringify(charge.gpus.map((g) => g.id)),
    exclusive: choice.exclusive,
  });
  return true;
}
