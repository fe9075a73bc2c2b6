import type { Knex } from "knex";
import type { GpuFacts } from "../../lib/host-facts/host-facts.js";
import { newId } from "../db/ids.js";
import { uuidArrayParam } from "../db/uuid-array.js";

export interface ReportedGpus {
  agentId: string;
  gpus: readonly GpuFacts[];
}

/** A machine whose GPUs were refreshed, with where its capacity counts. */
export interface RefreshedMachine {
  id: string;
  poolId: string;
  dataCenterId: string;
}

/**
 * A Hello's GPUs become compute_machine_gpus rows (spec 004 §4.2), for any number of agents in
 * three statements:
 * 1. each reported GPU is inserted (available, or error when the inventory says so) or refreshed
 *    (uuid, model, memory, PCI address; a failed GPU's blank readings keep the known ones), moving
 *    between available and error as reported; an allocated GPU is left alone (its VM holds it),
 *    and maintenance stays the operator's;
 * 2. an available GPU the inventory no longer lists is in error (never deleted: it may come back);
 * 3. gpu_count becomes the GPUs not in error, never below what is allocated (the shortfall is
 *    flagged, as for the other capacities).
 * The machines' rows must exist already (compute-machine-registry.ts inserts them first).
 */
export async function registerMachineGpus(
  trx: Knex.Transaction,
  reports: readonly ReportedGpus[],
  now: Date,
): Promise<RefreshedMachine[]> {
  if (reports.length === 0) return [];
  const rows = reports.flatMap((r) => {
    // One row per index: a garbled inventory must not make the upsert touch a row twice.
    const seen = new Set<number>();
    return r.gpus
      .filter((g) => !seen.has(g.index) && seen.add(g.index))
      .map((g) => ({
        id: newId(),
        agent_id: r.agentId,
        gpu_index: g.index,
        gpu_uuid: g.uuid,
        model: g.name,
        memory_mib: Math.min(Math.round(g.memoryTotalMib), 2 ** 31 - 1),
        pci_address: g.pciBusId,
        failed: g.status === "error",
      }));
  });
  const agents = uuidArrayParam(reports.map((r) => r.agentId));
  const reported = JSON.stringify(rows);
  if (rows.length > 0) {
    await trx.raw(
      `INSERT INTO compute_machine_gpus AS g
         (id, compute_machine_id, gpu_index, gpu_uuid, model, memory_mib, pci_address, status, created_at, updated_at)
       SELECT v.id, m.id, v.gpu_index, v.gpu_uuid, v.model, v.memory_mib, v.pci_address,
              CASE WHEN v.failed THEN 'error' ELSE 'available' END, ?, ?
       FROM jsonb_to_recordset(?::jsonb) AS v(id uuid, agent_id uuid, gpu_index int, gpu_uuid text, model text,
            memory_mib int, pci_address text, failed boolean)
       JOIN compute_machines m ON m.agent_id = v.agent_id AND m.deleted_at IS NULL
       ON CONFLICT (compute_machine_id, gpu_index) DO UPDATE SET
         gpu_uuid = coalesce(nullif(EXCLUDED.gpu_uuid, ''), g.gpu_uuid),
         model = coalesce(nullif(EXCLUDED.model, ''), g.model),
         memory_mib = coalesce(nullif(EXCLUDED.memory_mib, 0), g.memory_mib),
         pci_address = coalesce(nullif(EXCLUDED.pci_address, ''), g.pci_address),
         status = CASE WHEN g.status = 'maintenance' THEN 'maintenance' ELSE EXCLUDED.status END,
         updated_at = EXCLUDED.updated_at
       WHERE g.status <> 'allocated'`,
      [now, now, reported],
    );
  }
  await trx.raw(
    `UPDATE compute_machine_gpus AS g SET status = 'error', updated_at = ?
     FROM compute_machines m
     WHERE g.compute_machine_id = m.id AND m.agent_id = ANY(?::uuid[]) AND m.deleted_at IS NULL
       AND g.status = 'available'
       AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset(?::jsonb) AS v(agent_id uuid, gpu_index int)
                       WHERE v.agent_id = m.agent_id AND v.gpu_index = g.gpu_index)`,
    [now, agents, reported],
  );
  const res = await trx.raw<{ rows: { id: string; resource_pool_id: string; edge_data_center_id: string }[] }>(
    `UPDATE compute_machines AS m SET
       gpu_count = GREATEST(c.n, m.allocated_gpu_count), reported_gpu_count = c.n,
       capacity_shortfall = m.capacity_shortfall OR c.n < m.allocated_gpu_count
     FROM (SELECT m2.id, count(g.id) FILTER (WHERE g.status <> 'error')::int AS n
           FROM compute_machines m2 LEFT JOIN compute_machine_gpus g ON g.compute_machine_id = m2.id
           WHERE m2.agent_id = ANY(?::uuid[]) AND m2.deleted_at IS NULL
           GROUP BY m2.id) AS c
     WHERE m.id = c.id
     RETURNING m.id, m.resource_pool_id, m.edge_data_center_id`,
    [agents],
  );
  return res.rows.map((r) => ({ id: r.id, poolId: r.resource_pool_id, dataCenterId: r.edge_data_center_id }));
}
