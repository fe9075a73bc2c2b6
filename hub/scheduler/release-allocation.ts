import type { Knex } from "knex";

// Returning what placeInstance charged for a VM, in the caller's transaction.

interface AllocationRow {
  compute_machine_id: string;
  compute_pool_id: string;
  cpu_cores: number;
  memory_gb: number;
  storage_gb: number;
  gpu_ids: string[] | string;
}

/**
 * Gives back exactly what was charged for `vmId` (machine and pool counters, GPU rows) and forgets
 * the allocation; false when nothing was held, so a second call changes nothing. The pool row is
 * updated before the machine's, the order placement locks them in.
 */
export async function releaseAllocation(trx: Knex.Transaction, vmId: string): Promise<boolean> {
  const [row] = (await trx("machine_allocations")
    .where("vm_id", vmId)
    .del()
    .returning([
      "compute_machine_id",
      "compute_pool_id",
      "cpu_cores",
      "memory_gb",
      "storage_gb",
      "gpu_ids",
    ])) as AllocationRow[];
  if (row === undefined) return false;
  const gpuIds = typeof row.gpu_ids === "string" ? (JSON.parse(row.gpu_ids) as string[]) : row.gpu_ids;
  // Memory and storage are doubles: GREATEST keeps rounding in sums of fractions from going below 0.
  await trx.raw(
    `UPDATE compute_pools
        SET allocated_cpu_cores = allocated_cpu_cores - ?, allocated_memory_gb = GREATEST(allocated_memory_gb - ?, 0),
            allocated_storage_gb = GREATEST(allocated_storage_gb - ?, 0), allocated_gpu_count = allocated_gpu_count - ?
      WHERE id = ?`,
    [row.cpu_cores, row.memory_gb, row.storage_gb, gpuIds.length, row.compute_pool_id],
  );
  await trx.raw(
    `UPDATE compute_machines
        SET allocated_cpu_cores = allocated_cpu_cores - ?, allocated_memory_gb = GREATEST(allocated_memory_gb - ?, 0),
            allocated_storage_gb = GREATEST(allocated_storage_gb - ?, 0), allocated_gpu_count = allocated_gpu_count - ?
      WHERE id = ?`,
    [row.cpu_cores, row.memory_gb, row.storage_gb, gpuIds.length, row.compute_machine_id],
  );
  if (gpuIds.length > 0)
    await trx("compute_machine_gpus")
      .where("allocated_vm_id", vmId)
      .update({ status: "available", allocated_vm_id: null, updated_at: trx.fn.now() });
  return true;
}
