import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { recordChange } from "../audit/record-change.js";
import { whereContains } from "../db/contains-pattern.js";
import { ConflictError, FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { lockPools, recomputeTotals } from "./capacity-totals.js";
import {
  AGENT_LOST,
  DECOMMISSION,
  END_MAINTENANCE,
  moveMachine,
  START_MAINTENANCE,
  type MachineMove,
  type MachineStatus,
} from "./compute-machine-lifecycle.js";
import type { ComputeMachineHealth, MachineType, RentalMode } from "./infrastructure-enums.js";
import { getComputePool } from "./compute-pool-store.js";

/** A compute machine (spec 000 §1.3) as the infrastructure API shows it. */
export interface ComputeMachineRecord {
  id: string;
  hostname: string;
  machineType: MachineType;
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpuCount: number;
  allocatedCpuCores: number;
  allocatedMemoryGb: number;
  allocatedStorageGb: number;
  allocatedGpuCount: number;
  status: MachineStatus;
  healthStatus: ComputeMachineHealth;
  hypervisorType: string;
  rentalMode: RentalMode;
  computePoolId: string;
  edgeDataCenterId: string;
  agentId: string | null;
  labels: Record<string, string>;
  priority: number;
  capacityShortfall: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = [
  "id",
  "hostname",
  "machine_type",
  "cpu_cores",
  "memory_gb",
  "storage_gb",
  "gpu_count",
  "allocated_cpu_cores",
  "allocated_memory_gb",
  "allocated_storage_gb",
  "allocated_gpu_count",
  "status",
  "health_status",
  "hypervisor_type",
  "rental_mode",
  "resource_pool_id",
  "edge_data_center_id",
  "agent_id",
  "labels",
  "priority",
  "capacity_shortfall",
  "created_at",
  "updated_at",
];

function toRecord(r: Record<string, unknown>): ComputeMachineRecord {
  return {
    id: r.id as string,
    hostname: r.hostname as string,
    machineType: r.machine_type as MachineType,
    cpuCores: Number(r.cpu_cores),
    memoryGb: Number(r.memory_gb),
    storageGb: Number(r.storage_gb),
    gpuCount: Number(r.gpu_count),
    allocatedCpuCores: Number(r.allocated_cpu_cores),
    allocatedMemoryGb: Number(r.allocated_memory_gb),
    allocatedStorageGb: Number(r.allocated_storage_gb),
    allocatedGpuCount: Number(r.allocated_gpu_count),
    status: r.status as MachineStatus,
    healthStatus: r.health_status as ComputeMachineHealth,
    hypervisorType: r.hypervisor_type as string,
    rentalMode: r.rental_mode as RentalMode,
    computePoolId: r.resource_pool_id as string,
    edgeDataCenterId: r.edge_data_center_id as string,
    agentId: (r.agent_id as string | null) ?? null,
    labels: (typeof r.labels === "string" ? JSON.parse(r.labels) : r.labels) as Record<string, string>,
    priority: Number(r.priority),
    capacityShortfall: Boolean(r.capacity_shortfall),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

export async function getComputeMachine(
  knex: Knex | Knex.Transaction,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<ComputeMachineRecord> {
  const q = knex("compute_machines").where("id", id).whereNull("deleted_at").first(COLUMNS);
  if (options.forUpdate) q.forNoKeyUpdate();
  const row = await q;
  if (!row) throw new NotFoundError("compute machine", id);
  return toRecord(row);
}

/**
 * Locks the machine's pool and `alsoPools` (id order), then the machine: the order placements
 * take them in (capacity-totals.ts). A machine moved to another pool in between is a conflict the
 * caller retries.
 */
async function lockMachineAndPools(
  trx: Knex.Transaction,
  id: string,
  alsoPools: readonly string[] = [],
): Promise<ComputeMachineRecord> {
  const seen = await getComputeMachine(trx, id);
  await lockPools(trx, [seen.computePoolId, ...alsoPools]);
  const locked = await getComputeMachine(trx, id, { forUpdate: true });
  if (locked.computePoolId !== seen.computePoolId)
    throw new ConflictError(`Cannot change compute machine ${id}: it moved to another pool meanwhile; retry`, {
      reason: "CONCURRENT_CHANGE",
      metadata: { compute_machine_id: id },
    });
  return locked;
}

export interface ComputeMachineListQuery {
  computePoolId: string | null;
  edgeDataCenterId: string | null;
  status: MachineStatus | null;
  machineType: MachineType | null;
  rentalMode: RentalMode | null;
  /** Every key present with this value (jsonb containment). */
  labels: Record<string, string>;
  hostnameContains: string;
}

/** Registration order (UUIDv7 ids), keyset-paginated. */
export async function listComputeMachines(
  knex: Knex,
  q: ComputeMachineListQuery,
  page: PageRequest,
): Promise<Page<ComputeMachineRecord>> {
  const query = knex("compute_machines")
    .whereNull("deleted_at")
    .orderBy("id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (q.computePoolId) query.where("resource_pool_id", q.computePoolId);
  if (q.edgeDataCenterId) query.where("edge_data_center_id", q.edgeDataCenterId);
  if (q.status) query.where("status", q.status);
  if (q.machineType) query.where("machine_type", q.machineType);
  if (q.rentalMode) query.where("rental_mode", q.rentalMode);
  if (Object.keys(q.labels).length > 0) query.whereRaw("labels @> ?::jsonb", [JSON.stringify(q.labels)]);
  if (q.hostnameContains) whereContains(query, "hostname", q.hostnameContains);
  if (page.after) query.where("id", ">", page.after[0]!);
  const rows = pageOf((await query) as Record<string, unknown>[], page, (r) => [r.id as string]);
  return { items: rows.items.map(toRecord), nextPageToken: rows.nextPageToken };
}

/** Refuses a change that needs an empty machine: every allocated_* zero and no GPU passed through. */
async function refuseAllocated(trx: Knex.Transaction, m: ComputeMachineRecord, action: string): Promise<void> {
  const gpus = await trx("compute_machine_gpus")
    .where({ compute_machine_id: m.id, status: "allocated" })
    .count<{ n: string }[]>({ n: "*" });
  const allocatedGpus = Number(gpus[0]?.n ?? 0);
  if (
    m.allocatedCpuCores === 0 &&
    m.allocatedMemoryGb === 0 &&
    m.allocatedStorageGb === 0 &&
    m.allocatedGpuCount === 0 &&
    allocatedGpus === 0
  )
    return;
  throw new FailedPreconditionError(
    `Cannot ${action} compute machine ${m.id}: it still runs VMs (${m.allocatedCpuCores} cores, ${m.allocatedMemoryGb} GB memory, ${m.allocatedStorageGb} GB storage, ${Math.max(m.allocatedGpuCount, allocatedGpus)} GPUs allocated); move or delete them first`,
    {
      reason: "MACHINE_HAS_ALLOCATIONS",
      metadata: {
        compute_machine_id: m.id,
        allocated_cpu_cores: String(m.allocatedCpuCores),
        allocated_memory_gb: String(m.allocatedMemoryGb),
        allocated_storage_gb: String(m.allocatedStorageGb),
        allocated_gpu_count: String(Math.max(m.allocatedGpuCount, allocatedGpus)),
      },
    },
  );
}

export interface ComputeMachinePatch {
  labels?: Record<string, string>;
  priority?: number;
  rentalMode?: RentalMode;
}

/** `etag` (empty: unchecked) is checked on the locked row; a rental mode change needs an empty machine. */
export async function updateComputeMachine(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  patch: ComputeMachinePatch,
): Promise<ComputeMachineRecord> {
  return knex.transaction(async (trx) => {
    const before = await getComputeMachine(trx, id, { forUpdate: true });
    checkEtag(etag, before, "compute machine", id);
    const row: Record<string, unknown> = { updated_at: caller.at, updated_by: caller.principal.userId };
    if (patch.labels !== undefined) row.labels = JSON.stringify(patch.labels);
    if (patch.priority !== undefined) row.priority = patch.priority;
    if (patch.rentalMode !== undefined && patch.rentalMode !== before.rentalMode) {
      await refuseAllocated(trx, before, "change the rental mode of");
      row.rental_mode = patch.rentalMode;
    }
    await trx("compute_machines").where("id", id).update(row);
    const after = await getComputeMachine(trx, id);
    await recordChange(trx, caller, {
      tenantId: null,
      action: "compute_machine.update",
      targetType: "compute_machine",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

/** Moves an empty machine to another pool; both pools' totals follow in the same transaction. */
export async function transferComputeMachine(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  toPoolId: string,
): Promise<ComputeMachineRecord> {
  return knex.transaction(async (trx) => {
    await getComputePool(trx, toPoolId);
    const before = await lockMachineAndPools(trx, id, [toPoolId]);
    checkEtag(etag, before, "compute machine", id);
    if (before.computePoolId === toPoolId) return before;
    if (before.status === "decommissioning")
      throw new FailedPreconditionError(`Cannot transfer compute machine ${id}: it is being decommissioned`, {
        reason: "MACHINE_DECOMMISSIONING",
        metadata: { compute_machine_id: id },
      });
    await refuseAllocated(trx, before, "transfer");
    await trx("compute_machines")
      .where("id", id)
      .update({ resource_pool_id: toPoolId, updated_at: caller.at, updated_by: caller.principal.userId });
    await recomputeTotals(trx, [
      { poolId: before.computePoolId, dataCenterId: before.edgeDataCenterId },
      { poolId: toPoolId, dataCenterId: before.edgeDataCenterId },
    ]);
    const after = await getComputeMachine(trx, id);
    await recordChange(trx, caller, {
      tenantId: null,
      action: "compute_machine.transfer",
      targetType: "compute_machine",
      targetId: id,
      before: { computePoolId: before.computePoolId },
      after: { computePoolId: toPoolId },
    });
    return after;
  });
}

export type MachineVerb = "start_maintenance" | "end_maintenance" | "decommission";

const MOVES: Record<MachineVerb, MachineMove> = {
  start_maintenance: START_MAINTENANCE,
  end_maintenance: END_MAINTENANCE,
  decommission: DECOMMISSION,
};

/**
 * An operator's status change through the lifecycle's guarded update. Asking for the status the
 * machine already has writes nothing; any other move the lifecycle does not allow is
 * failed_precondition, reason ILLEGAL_MACHINE_TRANSITION. Ending maintenance while the agent is
 * away lands on offline (active, then the fleet's own AGENT_LOST move), as the fleet would have.
 */
export async function changeMachineStatus(
  knex: Knex,
  caller: Caller,
  id: string,
  verb: MachineVerb,
): Promise<ComputeMachineRecord> {
  const move = MOVES[verb];
  return knex.transaction(async (trx) => {
    // Decommissioning changes the pool's totals: its row is locked first, as placements do.
    const before =
      move === DECOMMISSION
        ? await lockMachineAndPools(trx, id)
        : await getComputeMachine(trx, id, { forUpdate: true });
    if (before.status === move.to) return before;
    if (!(await moveMachine(trx, id, move, caller.at, caller.principal.userId)))
      throw new FailedPreconditionError(
        `Cannot ${verb.replace("_", " ")} compute machine ${id}: it is ${before.status}, and ${move.to} may only follow ${move.from.join(" or ")}`,
        {
          reason: "ILLEGAL_MACHINE_TRANSITION",
          metadata: { compute_machine_id: id, status: before.status, requested: move.to },
        },
      );
    if (move === END_MAINTENANCE && before.agentId) {
      const agent = await trx("agents").where("id", before.agentId).first("status");
      if (agent?.status !== "connected") await moveMachine(trx, id, AGENT_LOST, caller.at, caller.principal.userId);
    }
    if (move === DECOMMISSION)
      await recomputeTotals(trx, [{ poolId: before.computePoolId, dataCenterId: before.edgeDataCenterId }]);
    const after = await getComputeMachine(trx, id);
    await recordChange(trx, caller, {
      tenantId: null,
      action: `compute_machine.${verb}`,
      targetType: "compute_machine",
      targetId: id,
      before: { status: before.status },
      after: { status: after.status },
    });
    return after;
  });
}
