import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { recordChange } from "../audit/record-change.js";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { GPU_END_MAINTENANCE, GPU_START_MAINTENANCE, type GpuMove } from "./gpu-lifecycle.js";
import type { GpuStatus } from "./infrastructure-enums.js";

/** One GPU of a compute machine (spec 004 §4.2). */
export interface ComputeMachineGpuRecord {
  id: string;
  computeMachineId: string;
  index: number;
  gpuUuid: string;
  model: string;
  memoryMib: number;
  pciAddress: string;
  status: GpuStatus;
  allocatedVmId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = [
  "g.id",
  "g.compute_machine_id",
  "g.gpu_index",
  "g.gpu_uuid",
  "g.model",
  "g.memory_mib",
  "g.pci_address",
  "g.status",
  "g.allocated_vm_id",
  "g.created_at",
  "g.updated_at",
];

function toRecord(r: Record<string, unknown>): ComputeMachineGpuRecord {
  return {
    id: r.id as string,
    computeMachineId: r.compute_machine_id as string,
    index: Number(r.gpu_index),
    gpuUuid: r.gpu_uuid as string,
    model: r.model as string,
    memoryMib: Number(r.memory_mib),
    pciAddress: r.pci_address as string,
    status: r.status as GpuStatus,
    allocatedVmId: (r.allocated_vm_id as string | null) ?? null,
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

export async function getComputeMachineGpu(
  knex: Knex | Knex.Transaction,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<ComputeMachineGpuRecord> {
  const q = knex("compute_machine_gpus as g").where("g.id", id).first(COLUMNS);
  if (options.forUpdate) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError("GPU", id);
  return toRecord(row);
}

export interface GpuListQuery {
  computeMachineId: string | null;
  computePoolId: string | null;
  status: GpuStatus | null;
}

/** (machine, index) order, keyset-paginated; GPUs of deleted machines are not listed. */
export async function listComputeMachineGpus(
  knex: Knex,
  q: GpuListQuery,
  page: PageRequest,
): Promise<Page<ComputeMachineGpuRecord>> {
  const query = knex("compute_machine_gpus as g")
    .join("compute_machines as m", "m.id", "g.compute_machine_id")
    .whereNull("m.deleted_at")
    .orderBy([{ column: "g.compute_machine_id" }, { column: "g.gpu_index" }])
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (q.computeMachineId) query.where("g.compute_machine_id", q.computeMachineId);
  if (q.computePoolId) query.where("m.resource_pool_id", q.computePoolId);
  if (q.status) query.where("g.status", q.status);
  if (page.after) {
    const [machine, index] = page.after as [string, string];
    query.whereRaw("(g.compute_machine_id, g.gpu_index) > (?::uuid, ?::int)", [machine, Number(index)]);
  }
  const rows = pageOf((await query) as Record<string, unknown>[], page, (r) => [
    r.compute_machine_id as string,
    String(r.gpu_index),
  ]);
  return { items: rows.items.map(toRecord), nextPageToken: rows.nextPageToken };
}

export type GpuVerb = "start_maintenance" | "end_maintenance";

const MOVES: Record<GpuVerb, GpuMove> = {
  start_maintenance: GPU_START_MAINTENANCE,
  end_maintenance: GPU_END_MAINTENANCE,
};

/**
 * Maintenance on or off through a guarded update. The status the GPU already has writes nothing;
 * an allocated GPU is GPU_ALLOCATED (its VM keeps it), anything else the lifecycle refuses is
 * ILLEGAL_GPU_TRANSITION.
 */
export async function changeGpuStatus(
  knex: Knex,
  caller: Caller,
  id: string,
  verb: GpuVerb,
): Promise<ComputeMachineGpuRecord> {
  const move = MOVES[verb];
  return knex.transaction(async (trx) => {
    const before = await getComputeMachineGpu(trx, id, { forUpdate: true });
    if (before.status === move.to) return before;
    const moved = await trx("compute_machine_gpus")
      .where("id", id)
      .whereIn("status", [...move.from])
      .update({ status: move.to, updated_at: caller.at });
    if (moved === 0) {
      const allocated = before.status === "allocated";
      throw new FailedPreconditionError(
        allocated
          ? `Cannot ${verb.replace("_", " ")} of GPU ${id}: it is passed through to VM ${before.allocatedVmId}`
          : `Cannot ${verb.replace("_", " ")} of GPU ${id}: it is ${before.status}, and ${move.to} may only follow ${move.from.join(" or ")}`,
        {
          reason: allocated ? "GPU_ALLOCATED" : "ILLEGAL_GPU_TRANSITION",
          metadata: { gpu_id: id, status: before.status, requested: move.to },
        },
      );
    }
    const after = await getComputeMachineGpu(trx, id);
    await recordChange(trx, caller, {
      tenantId: null,
      action: `compute_machine_gpu.${verb}`,
      targetType: "compute_machine_gpu",
      targetId: id,
      before: { status: before.status },
      after: { status: after.status },
    });
    return after;
  });
}
