import type { Knex } from "knex";
import { uuidArrayParam } from "../db/uuid-array.js";
import type { PlacementRequest } from "./placement-request.js";
import { REJECTION_REASONS, type RejectionCounts, type RejectionReason } from "./rejection-reasons.js";
import type { PrefilteredMachines, SchedulingSnapshot, SnapshotPool } from "./scheduling-snapshot.js";
import { lockPools, MACHINE_COLUMNS, machineOf, type MachineRow } from "./snapshot-query.js";

// The snapshot placement decides on, in one indexed query (compute_machines_pool): every machine of
// the pools is classified in the database by the first filter it fails, the same filters in the
// same order as placement-filters.ts, and only the CANDIDATE_LIMIT best that pass, in the order of
// placement-policies.ts, come back in full; the rest come back as counts. Reading 5 000 machines
// in full for every placement costs more than the whole 100 ms budget; the pure function still
// judges and ranks what it gets, and test/scheduler/candidate-query.test.ts holds the two to the
// same answer as choosePlacement over a full snapshot.

/** Machines returned in full; the pure function re-ranks them, so more than one is only a margin. */
export const CANDIDATE_LIMIT = 16;

class Sql {
  readonly params: Knex.Value[] = [];
  p(v: Knex.Value): string {
    this.params.push(v);
    return "?";
  }
}

/** `g` is one of the machine's GPU rows of the requested model (any model when none is named). */
function modelMatch(q: Sql, req: PlacementRequest): string {
  return req.gpuModel === null ? "true" : `lower(btrim(g.model)) = lower(btrim(${q.p(req.gpuModel)}::text))`;
}

/**
 * SQL of staticRejection then chargeFor (placement-filters.ts): the first reason `m` fails, or
 * NULL. Parts are built in text order, since each binds its parameters as it is written.
 */
function reasonCase(q: Sql, req: PlacementRequest): string {
  const whens = [
    `WHEN m.status <> 'active' THEN m.status`,
    `WHEN m.health_status = 'critical' THEN 'health_critical'`,
    `WHEN m.agent_id IS NULL OR a.status IS DISTINCT FROM 'connected' THEN 'agent_disconnected'`,
  ];
  whens.push(`WHEN m.rental_mode <> ${q.p(req.rentalMode)} THEN 'rental_mode'`);
  whens.push(`WHEN NOT (m.labels @> ${q.p(JSON.stringify(req.requiredLabels))}::jsonb) THEN 'labels'`);
  if (req.gpuCount > 0)
    whens.push(`WHEN NOT EXISTS (SELECT 1 FROM compute_machine_gpus g WHERE g.compute_machine_id = m.id
                   AND ${modelMatch(q, req)}) THEN 'gpu_model'`);
  if (req.rentalMode === "exclusive")
    whens.push(`WHEN m.allocated_cpu_cores > 0 OR m.allocated_memory_gb > 0 OR m.allocated_storage_gb > 0
                  OR m.allocated_gpu_count > 0 THEN 'exclusive_in_use'`);
  whens.push(`WHEN m.allocated_cpu_cores + ${q.p(req.cpuCores)} > m.cpu_cores THEN 'cpu'`);
  whens.push(`WHEN m.allocated_memory_gb + ${q.p(req.memoryGb)} > m.memory_gb THEN 'memory'`);
  whens.push(`WHEN m.allocated_storage_gb + ${q.p(req.storageGb)} > m.storage_gb THEN 'storage'`);
  if (req.gpuCount > 0) {
    let when = `WHEN m.allocated_gpu_count + ${q.p(req.gpuCount)} > m.gpu_count OR NOT EXISTS (`;
    when += `SELECT 1 FROM compute_machine_gpus g WHERE g.compute_machine_id = m.id AND g.status = 'available'`;
    when += ` AND ${modelMatch(q, req)} GROUP BY lower(btrim(g.model)) HAVING count(*) >= ${q.p(req.gpuCount)})`;
    whens.push(`${when} THEN 'gpu_count'`);
  }
  return `CASE ${whens.join("\n      ")} END`;
}

/** SQL of loadAfter (placement-policies.ts) over the candidate `c`; exclusive fills every machine alike. */
function loadKey(q: Sql, req: PlacementRequest): string {
  if (req.rentalMode === "exclusive") return "1";
  const share = (alloc: string, cap: string, charge: number) =>
    `CASE WHEN c.${cap} > 0 THEN (c.${alloc} + ${q.p(charge)})::float8 / c.${cap} ELSE 0 END`;
  const shares = [
    share("allocated_cpu_cores", "cpu_cores", req.cpuCores),
    share("allocated_memory_gb", "memory_gb", req.memoryGb),
    share("allocated_storage_gb", "storage_gb", req.storageGb),
    req.gpuCount > 0 ? share("allocated_gpu_count", "gpu_count", req.gpuCount) : "0",
  ];
  return `GREATEST(${shares.join(", ")})`;
}

/** SQL of policyOrder, with least_loaded's free-GPU count first (choose-placement.ts). */
function orderBy(q: Sql, req: PlacementRequest, pool: SnapshotPool | undefined): string {
  const policy = pool?.schedulingPolicy ?? "load_balance";
  const keys: string[] = [];
  if (pool?.gpuAllocationStrategy === "least_loaded" && req.gpuCount > 0)
    keys.push(`(SELECT count(*) FROM compute_machine_gpus g WHERE g.compute_machine_id = c.id
                  AND g.status = 'available' AND ${modelMatch(q, req)}) DESC`);
  if (policy === "round_robin") keys.push("c.last_placed_at ASC NULLS FIRST");
  else {
    if (policy === "priority") keys.push("c.priority DESC");
    if (policy === "affinity" && req.affinityMachineId !== null)
      keys.push(`(c.id = ${q.p(req.affinityMachineId)}::uuid) DESC`);
    keys.push(`${loadKey(q, req)} ASC`);
  }
  keys.push("c.id ASC");
  return keys.join(", ");
}

interface CandidateRow extends Partial<MachineRow> {
  tally: [string, number][] | string;
  models: [string, number][] | string | null;
}

const parsed = <T>(v: T | string): T => (typeof v === "string" ? (JSON.parse(v) as T) : v);

/** The pools in scope, locked (see lockPools), and their machines as candidates plus counts. */
export async function readSnapshot(
  trx: Knex.Transaction,
  req: PlacementRequest,
  candidateLimit = CANDIDATE_LIMIT,
): Promise<SchedulingSnapshot> {
  const pools = await lockPools(trx, req.computePoolId);
  if (pools.length === 0) return { pools, machines: [] };
  // The planner's estimate of the GPU subqueries passes jit_above_cost, and compiling the plan
  // takes several times longer than running it (measured: 120 of 160 ms at 5 000 machines).
  await trx.raw("SET LOCAL jit = off");
  const named = req.computePoolId !== null ? pools[0] : undefined;
  const q = new Sql();
  const reason = reasonCase(q, req);
  const poolIds = q.p(uuidArrayParam(pools.map((p) => p.id)));
  const order = orderBy(q, req, named);
  const limit = q.p(candidateLimit);
  // The GPU models there, for the reason when nothing fits (read only then).
  const models =
    req.gpuCount > 0 && req.gpuModel !== null
      ? `CASE WHEN NOT EXISTS (SELECT 1 FROM best) THEN (SELECT json_agg(json_build_array(x.model, x.n)) FROM (
            SELECT g.model, count(*)::int AS n FROM compute_machine_gpus g
              JOIN compute_machines gm ON gm.id = g.compute_machine_id
             WHERE gm.resource_pool_id = ANY(${q.p(uuidArrayParam(pools.map((p) => p.id)))}::uuid[])
               AND gm.deleted_at IS NULL
             GROUP BY g.model) x) END`
      : "NULL";
  const result = (await trx.raw(
    `WITH classified AS (
       SELECT m.id, m.cpu_cores, m.memory_gb, m.storage_gb, m.gpu_count, m.allocated_cpu_cores,
              m.allocated_memory_gb, m.allocated_storage_gb, m.allocated_gpu_count, m.priority, m.last_placed_at,
              ${reason} AS reason
         FROM compute_machines m LEFT JOIN agents a ON a.id = m.agent_id
        WHERE m.resource_pool_id = ANY(${poolIds}::uuid[]) AND m.deleted_at IS NULL),
     best AS (SELECT c.id FROM classified c WHERE c.reason IS NULL ORDER BY ${order} LIMIT ${limit})
     SELECT (SELECT json_agg(json_build_array(coalesce(t.reason, ''), t.n)) FROM (
               SELECT reason, count(*)::int AS n FROM classified GROUP BY reason) t) AS tally,
            ${models} AS models,
            ${MACHINE_COLUMNS}
       FROM (SELECT 1) one
       LEFT JOIN best ON true
       LEFT JOIN compute_machines m ON m.id = best.id
       LEFT JOIN agents a ON a.id = m.agent_id`,
    q.params,
  )) as { rows: CandidateRow[] };
  const rows = result.rows;
  const machines = rows.filter((r) => r.id !== null && r.id !== undefined).map((r) => machineOf(r as MachineRow));
  const rejectedBy: RejectionCounts = {};
  let total = 0;
  for (const [r, n] of parsed(rows[0]!.tally) ?? []) {
    total += n;
    if ((REJECTION_REASONS as readonly string[]).includes(r)) rejectedBy[r as RejectionReason] = n;
  }
  const prefiltered: PrefilteredMachines = {
    considered: total - machines.length,
    rejectedBy,
    gpuModels: (parsed(rows[0]!.models) ?? []).map(([model, count]) => ({ model, count })),
  };
  return { pools, machines, prefiltered };
}
