import type { Knex } from "knex";
import { uuidArrayParam } from "../db/uuid-array.js";

// Pools' and data centers' total_* are sums over their live machines that are not being
// decommissioned (spec 000 §6.1.1 "聚合统计"). Every change that moves them (registration, a
// Hello's hardware refresh, transfer, decommission) recomputes them in its own transaction, one
// statement per table whatever the number of rows. allocated_* belong to the scheduler.
//
// Lock order: pools (in id order) before machines, as the scheduler's placement and release take
// them; a writer that touches a machine and then its pool's totals would deadlock against a
// placement holding the pool and waiting for the machine.

/** Locks live pools in id order (FOR NO KEY UPDATE); returns the ids found. */
export async function lockPools(trx: Knex.Transaction, poolIds: readonly string[]): Promise<string[]> {
  if (poolIds.length === 0) return [];
  const res = await trx.raw<{ rows: { id: string }[] }>(
    `SELECT id FROM compute_pools WHERE id = ANY(?::uuid[]) AND deleted_at IS NULL ORDER BY id FOR NO KEY UPDATE`,
    [uuidArrayParam([...new Set(poolIds)])],
  );
  return res.rows.map((r) => r.id);
}

const COUNTED = `m.deleted_at IS NULL AND m.status <> 'decommissioning'`;

export async function recomputePoolTotals(trx: Knex.Transaction, poolIds: readonly string[]): Promise<void> {
  if (poolIds.length === 0) return;
  await trx.raw(
    `UPDATE compute_pools AS p SET
       total_cpu_cores = coalesce(s.cpu, 0), total_memory_gb = coalesce(s.mem, 0),
       total_storage_gb = coalesce(s.sto, 0), total_gpu_count = coalesce(s.gpu, 0)
     FROM unnest(?::uuid[]) AS t(id)
     LEFT JOIN (
       SELECT m.resource_pool_id AS id, sum(m.cpu_cores) AS cpu, sum(m.memory_gb) AS mem,
              sum(m.storage_gb) AS sto, sum(m.gpu_count) AS gpu
       FROM compute_machines m WHERE m.resource_pool_id = ANY(?::uuid[]) AND ${COUNTED}
       GROUP BY m.resource_pool_id
     ) AS s ON s.id = t.id
     WHERE p.id = t.id`,
    [uuidArrayParam(poolIds), uuidArrayParam(poolIds)],
  );
}

export async function recomputeDataCenterTotals(
  trx: Knex.Transaction,
  dataCenterIds: readonly string[],
): Promise<void> {
  if (dataCenterIds.length === 0) return;
  await trx.raw(
    `UPDATE edge_data_centers AS d SET
       total_cpu_cores = coalesce(s.cpu, 0), total_memory_gb = coalesce(s.mem, 0), total_storage_gb = coalesce(s.sto, 0)
     FROM unnest(?::uuid[]) AS t(id)
     LEFT JOIN (
       SELECT m.edge_data_center_id AS id, sum(m.cpu_cores) AS cpu, sum(m.memory_gb) AS mem, sum(m.storage_gb) AS sto
       FROM compute_machines m WHERE m.edge_data_center_id = ANY(?::uuid[]) AND ${COUNTED}
       GROUP BY m.edge_data_center_id
     ) AS s ON s.id = t.id
     WHERE d.id = t.id`,
    [uuidArrayParam(dataCenterIds), uuidArrayParam(dataCenterIds)],
  );
}

/** Both, for the pools and data centers of these machines (before or after a move, as the caller passes). */
export async function recomputeTotals(
  trx: Knex.Transaction,
  places: readonly { poolId: string; dataCenterId: string }[],
): Promise<void> {
  await recomputePoolTotals(trx, [...new Set(places.map((p) => p.poolId))].sort());
  await recomputeDataCenterTotals(trx, [...new Set(places.map((p) => p.dataCenterId))].sort());
}
