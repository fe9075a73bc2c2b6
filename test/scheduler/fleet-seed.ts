import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import { gpusFrom } from "./snapshot-fixtures.js";

// Rows for placement on a real database: a data center, pools, machines with connected agents and
// GPU rows, inserted in bulk (the benchmark seeds thousands).

export interface PoolSeed {
  name?: string;
  status?: "active" | "maintenance" | "disabled";
  schedulingPolicy?: "load_balance" | "priority" | "affinity" | "round_robin";
  gpuAllocationStrategy?: "first_fit" | "least_loaded";
}

export async function seedPool(knex: Knex, seed: PoolSeed = {}): Promise<{ poolId: string; dataCenterId: string }> {
  const dataCenterId = newId();
  const poolId = newId();
  await knex("edge_data_centers").insert({ id: dataCenterId, name: `dc-${dataCenterId}` });
  await knex("compute_pools").insert({
    id: poolId,
    name: seed.name ?? `pool-${poolId}`,
    status: seed.status ?? "active",
    edge_data_center_id: dataCenterId,
    scheduling_policy: seed.schedulingPolicy ?? "load_balance",
    gpu_allocation_strategy: seed.gpuAllocationStrategy ?? "first_fit",
  });
  return { poolId, dataCenterId };
}

export interface MachineSeed {
  cpuCores?: number;
  memoryGb?: number;
  storageGb?: number;
  status?: "active" | "maintenance" | "offline" | "decommissioning";
  healthStatus?: "unknown" | "healthy" | "warning" | "critical";
  rentalMode?: "shared" | "exclusive";
  agentStatus?: "connected" | "disconnected" | "offline";
  priority?: number;
  labels?: Record<string, string>;
  /** A recorded nvidia-smi inventory in test/scheduler/fixtures: one GPU row per line. */
  gpuInventory?: string;
}

const BATCH = 500;

/** `n` machines in `pool`, each with its own agent; returns their ids in insertion order. */
export async function seedMachines(
  knex: Knex,
  pool: { poolId: string; dataCenterId: string },
  n: number,
  seed: MachineSeed | ((i: number) => MachineSeed) = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < n; from += BATCH) {
    const agents: Record<string, unknown>[] = [];
    const machines: Record<string, unknown>[] = [];
    const gpus: Record<string, unknown>[] = [];
    for (let i = from; i < Math.min(n, from + BATCH); i++) {
      const s = typeof seed === "function" ? seed(i) : seed;
      const agentId = newId();
      const id = newId();
      ids.push(id);
      const hostname = `host-${i}-${id.slice(-6)}`;
      agents.push({
        id: agentId,
        role: "compute",
        hostname,
        edge_data_center_id: pool.dataCenterId,
        compute_pool_id: pool.poolId,
        certificate_serial: "1",
        certificate_expires_at: new Date(Date.now() + 86_400_000),
        status: s.agentStatus ?? "connected",
      });
      const inventory = s.gpuInventory ? gpusFrom(s.gpuInventory, id) : [];
      machines.push({
        id,
        hostname,
        machine_type: inventory.length > 0 ? "gpu_server" : "cpu_server",
        cpu_cores: s.cpuCores ?? 16,
        memory_gb: s.memoryGb ?? 64,
        storage_gb: s.storageGb ?? 1000,
        gpu_count: inventory.length,
        status: s.status ?? "active",
        health_status: s.healthStatus ?? "healthy",
        rental_mode: s.rentalMode ?? "shared",
        resource_pool_id: pool.poolId,
        edge_data_center_id: pool.dataCenterId,
        agent_id: agentId,
        priority: s.priority ?? 0,
        labels: JSON.stringify(s.labels ?? {}),
      });
      for (const g of inventory)
        gpus.push({
          id: newId(),
          compute_machine_id: id,
          gpu_index: g.index,
          model: g.model,
          pci_address: g.pciAddress,
          status: g.status,
        });
    }
    await knex("agents").insert(agents);
    await knex("compute_machines").insert(machines);
    if (gpus.length > 0) await knex("compute_machine_gpus").insert(gpus);
  }
  const totals = await knex("compute_machines")
    .where("resource_pool_id", pool.poolId)
    .first(
      knex.raw(
        "sum(cpu_cores)::int AS cpu, sum(memory_gb) AS mem, sum(storage_gb) AS storage, sum(gpu_count)::int AS gpus",
      ),
    );
  await knex("compute_pools")
    .where("id", pool.poolId)
    .update({
      total_cpu_cores: totals.cpu ?? 0,
      total_memory_gb: totals.mem ?? 0,
      total_storage_gb: totals.storage ?? 0,
      total_gpu_count: totals.gpus ?? 0,
    });
  return ids;
}
