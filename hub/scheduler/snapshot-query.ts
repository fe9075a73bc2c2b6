import type { Knex } from "knex";
import { uuidArrayParam } from "../db/uuid-array.js";
import type { RentalMode } from "./placement-request.js";
import type {
  GpuAllocationStrategy,
  GpuStatus,
  HealthStatus,
  MachineStatus,
  SchedulingPolicy,
  SchedulingSnapshot,
  SnapshotMachine,
  SnapshotPool,
} from "./scheduling-snapshot.js";

// The pools a placement reads, and machines as the snapshot carries them. readFullSnapshot reads
// every machine of the pools in full (tests, and the benchmark's baseline); placement reads the
// pools' machines through candidate-query.ts.

interface PoolRow {
  id: string;
  name: string;
  status: string;
  scheduling_policy: SchedulingPolicy;
  gpu_allocation_strategy: GpuAllocationStrategy;
}

function poolOf(r: PoolRow): SnapshotPool {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    schedulingPolicy: r.scheduling_policy,
    gpuAllocationStrategy: r.gpu_allocation_strategy,
  };
}

const POOL_COLUMNS = ["id", "name", "status", "scheduling_policy", "gpu_allocation_strategy"];

/**
 * Locks the pools a placement may charge: the named one, or every active pool (in id order, so two
 * placements never wait on each other in a cycle). Every charge and release updates its pool's
 * counters, so holding the pool row first makes placements in one pool take turns on a snapshot
 * nobody else is changing; the machine's guarded UPDATE stays the proof that nothing over-allocates.
 */
export async function lockPools(trx: Knex.Transaction, poolId: string | null): Promise<SnapshotPool[]> {
  const q = trx("compute_pools").whereNull("deleted_at").orderBy("id").select(POOL_COLUMNS).forNoKeyUpdate();
  if (poolId !== null) q.where("id", poolId);
  else q.where("status", "active");
  return ((await q) as PoolRow[]).map(poolOf);
}

export interface MachineRow {
  id: string;
  hostname: string;
  resource_pool_id: string;
  edge_data_center_id: string;
  agent_id: string | null;
  agent_connected: boolean | null;
  status: MachineStatus;
  health_status: HealthStatus;
  rental_mode: RentalMode;
  cpu_cores: number;
  memory_gb: number;
  storage_gb: number;
  gpu_count: number;
  allocated_cpu_cores: number;
  allocated_memory_gb: number;
  allocated_storage_gb: number;
  allocated_gpu_count: number;
  priority: number;
  labels: Record<string, string> | string;
  last_placed_at: Date | string | null;
  gpus: [string, number, string, string, GpuStatus][] | string | null;
}

const parsed = <T>(v: T | string): T => (typeof v === "string" ? (JSON.parse(v) as T) : v);

export function machineOf(r: MachineRow): SnapshotMachine {
  const labels = parsed(r.labels);
  return {
    id: r.id,
    hostname: r.hostname,
    computePoolId: r.resource_pool_id,
    edgeDataCenterId: r.edge_data_center_id,
    agentId: r.agent_id,
    agentConnected: r.agent_connected === true,
    status: r.status,
    healthStatus: r.health_status,
    rentalMode: r.rental_mode,
    cpuCores: Number(r.cpu_cores),
    memoryGb: Number(r.memory_gb),
    storageGb: Number(r.storage_gb),
    gpuCount: Number(r.gpu_count),
    allocatedCpuCores: Number(r.allocated_cpu_cores),
    allocatedMemoryGb: Number(r.allocated_memory_gb),
    allocatedStorageGb: Number(r.allocated_storage_gb),
    allocatedGpuCount: Number(r.allocated_gpu_count),
    priority: Number(r.priority),
    // Only string values can match a required label.
    labels: Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === "string")),
    lastPlacedAt: r.last_placed_at === null ? null : new Date(r.last_placed_at),
    gpus: (parsed(r.gpus) ?? []).map(([id, index, model, pciAddress, status]) => ({
      id,
      index,
      model,
      pciAddress,
      status,
    })),
  };
}

/** The columns of a MachineRow, from `m` (compute_machines), `a` (agents) and their GPU rows. */
export const MACHINE_COLUMNS = `m.id, m.hostname, m.resource_pool_id, m.edge_data_center_id, m.agent_id,
    a.status = 'connected' AS agent_connected, m.status, m.health_status, m.rental_mode,
    m.cpu_cores, m.memory_gb, m.storage_gb, m.gpu_count, m.allocated_cpu_cores,
    m.allocated_memory_gb, m.allocated_storage_gb, m.allocated_gpu_count, m.priority, m.labels,
    m.last_placed_at,
    CASE WHEN m.gpu_count > 0 THEN (
      SELECT json_agg(json_build_array(g.id, g.gpu_index, g.model, g.pci_address, g.status) ORDER BY g.gpu_index)
        FROM compute_machine_gpus g WHERE g.compute_machine_id = m.id) END AS gpus`;

/** Every machine of `pools` in full, each with whether its agent is connected and its GPU rows. */
export async function readAllMachines(knex: Knex, pools: readonly SnapshotPool[]): Promise<SnapshotMachine[]> {
  if (pools.length === 0) return [];
  const rows = (await knex.raw(
    `SELECT ${MACHINE_COLUMNS}
       FROM compute_machines m LEFT JOIN agents a ON a.id = m.agent_id
      WHERE m.resource_pool_id = ANY(?::uuid[]) AND m.deleted_at IS NULL`,
    [uuidArrayParam(pools.map((p) => p.id))],
  )) as { rows: MachineRow[] };
  return rows.rows.map(machineOf);
}

/** Locks the pools in scope and reads all their machines in full. */
export async function readFullSnapshot(trx: Knex.Transaction, poolId: string | null): Promise<SchedulingSnapshot> {
  const pools = await lockPools(trx, poolId);
  return { pools, machines: await readAllMachines(trx, pools) };
}
