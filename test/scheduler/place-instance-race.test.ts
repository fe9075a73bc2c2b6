import { expect } from "chai";
import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import { ResourceExhaustedError } from "../../hub/domain/errors.js";
import { placeInstance } from "../../hub/scheduler/place-instance.js";
import type { Placement, PlacementRequest } from "../../hub/scheduler/placement-request.js";
import { releaseAllocation } from "../../hub/scheduler/release-allocation.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { seedMachines, seedPool, type PoolSeed } from "./fleet-seed.js";

// Issue 10: concurrent placements never over-allocate and never refuse while room is left.

function req(poolId: string, over: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    instanceId: newId(),
    vmId: newId(),
    tenantId: newId(),
    computePoolId: poolId,
    rentalMode: "shared",
    cpuCores: 2,
    memoryGb: 4,
    storageGb: 10,
    gpuCount: 0,
    gpuModel: null,
    requiredLabels: {},
    affinityMachineId: null,
    ...over,
  };
}

interface RaceResult {
  placed: { request: PlacementRequest; placement: Placement }[];
  refused: ResourceExhaustedError[];
}

async function race(knex: Knex, requests: PlacementRequest[]): Promise<RaceResult> {
  const results = await Promise.allSettled(
    requests.map((r) =>
      placeInstance(knex, r, async (trx, p) => {
        // What the instances module does in onPlaced: a read and a write in the same transaction.
        const held = await trx("machine_allocations").where("vm_id", r.vmId).first("compute_machine_id");
        expect(held.compute_machine_id).to.equal(p.computeMachineId);
      }),
    ),
  );
  const other = results.filter((r) => r.status === "rejected" && !(r.reason instanceof ResourceExhaustedError));
  if (other.length > 0) throw (other[0] as PromiseRejectedResult).reason;
  return {
    placed: results.flatMap((r, i) =>
      r.status === "fulfilled" ? [{ request: requests[i]!, placement: r.value }] : [],
    ),
    refused: results.flatMap((r) => (r.status === "rejected" ? [r.reason as ResourceExhaustedError] : [])),
  };
}

describe("placeInstance under concurrency", function () {
  let t: TestDatabase;
  let knex: Knex;
  before(async () => {
    t = await createTestDatabase();
    knex = t.db.knex;
  });
  after(async () => t?.drop());

  async function sums(poolId: string) {
    const machines = await knex("compute_machines")
      .where("resource_pool_id", poolId)
      .select(
        "id",
        "cpu_cores",
        "allocated_cpu_cores",
        "allocated_memory_gb",
        "allocated_storage_gb",
        "allocated_gpu_count",
      );
    const pool = await knex("compute_pools")
      .where("id", poolId)
      .first("allocated_cpu_cores", "allocated_memory_gb", "allocated_storage_gb", "allocated_gpu_count");
    return { machines, pool };
  }

  for (const policy of ["load_balance", "round_robin"] as PoolSeed["schedulingPolicy"][]) {
    it(`200 concurrent placements on a pool that fits exactly 50 place 50 and refuse 150 with history (${policy})`, async () => {
      const pool = await seedPool(knex, { name: `race-${policy}`, schedulingPolicy: policy });
      // 10 machines × 10 cores: 5 placements of 2 cores each; memory and storage never bind.
      await seedMachines(knex, pool, 10, { cpuCores: 10, memoryGb: 64, storageGb: 1000 });
      const requests = Array.from({ length: 200 }, () => req(pool.poolId));
      const { placed, refused } = await race(knex, requests);
      expect(placed).to.have.length(50);
      expect(refused).to.have.length(150);

      const { machines, pool: counters } = await sums(pool.poolId);
      for (const m of machines) expect(m.allocated_cpu_cores, `machine ${m.id}`).to.equal(10);
      expect(counters).to.deep.equal({
        allocated_cpu_cores: 100,
        allocated_memory_gb: 200,
        allocated_storage_gb: 500,
        allocated_gpu_count: 0,
      });
      const perMachine = new Map<string, number>();
      for (const { placement: p } of placed)
        perMachine.set(p.computeMachineId, (perMachine.get(p.computeMachineId) ?? 0) + 1);
      expect([...perMachine.values()]).to.deep.equal(Array(10).fill(5));

      // Every refusal names its own failed history row, with the reason a person reads.
      const refusedIds = refused.map((e) => e.metadata.scheduling_history_id!);
      expect(new Set(refusedIds).size).to.equal(150);
      const failed = await knex("scheduling_history")
        .whereIn("id", refusedIds)
        .select("outcome", "failure_reason", "vm_id");
      expect(failed).to.have.length(150);
      for (const f of failed) {
        expect(f.outcome).to.equal("failed");
        expect(f.failure_reason).to.equal(
          `no machine in pool "race-${policy}" has 2 free CPU cores, 4 GB memory and 10 GB storage (10 machines considered: 10 short of CPU)`,
        );
      }
      const vmIds = requests.map((r) => r.vmId);
      const allocations = await knex("machine_allocations").whereIn("vm_id", vmIds).count({ n: "*" }).first();
      expect(Number(allocations!.n)).to.equal(50);
      const placedRows = await knex("scheduling_history")
        .whereIn("vm_id", vmIds)
        .where("outcome", "placed")
        .count({ n: "*" })
        .first();
      expect(Number(placedRows!.n)).to.equal(50);

      // Released concurrently, everything comes back to zero exactly.
      await Promise.all(placed.map(({ request }) => knex.transaction((trx) => releaseAllocation(trx, request.vmId))));
      const released = await sums(pool.poolId);
      for (const m of released.machines)
        expect([m.allocated_cpu_cores, m.allocated_memory_gb, m.allocated_storage_gb]).to.deep.equal([0, 0, 0]);
      expect(released.pool).to.deep.equal({
        allocated_cpu_cores: 0,
        allocated_memory_gb: 0,
        allocated_storage_gb: 0,
        allocated_gpu_count: 0,
      });
    });
  }

  it("hands each GPU to one VM only when 30 ask for 12", async () => {
    const pool = await seedPool(knex, { name: "race-gpu", gpuAllocationStrategy: "least_loaded" });
    await seedMachines(knex, pool, 2, (i) => ({ gpuInventory: i === 0 ? "gpu-a100x8.csv" : "gpu-a100x4.csv" }));
    const requests = Array.from({ length: 30 }, () =>
      req(pool.poolId, { cpuCores: 1, memoryGb: 1, gpuCount: 1, gpuModel: "NVIDIA A100-SXM4-80GB" }),
    );
    const { placed, refused } = await race(knex, requests);
    expect(placed).to.have.length(12);
    expect(refused).to.have.length(18);
    const gpuIds = placed.flatMap(({ placement }) => placement.gpus.map((g) => g.id));
    expect(new Set(gpuIds).size).to.equal(12);
    const rows = await knex("compute_machine_gpus").whereIn("id", gpuIds).select("id", "status", "allocated_vm_id");
    const vmOf = new Map(placed.map(({ request, placement }) => [placement.gpus[0]!.id, request.vmId]));
    for (const g of rows) {
      expect(g.status).to.equal("allocated");
      expect(g.allocated_vm_id).to.equal(vmOf.get(g.id));
    }
    const { machines, pool: counters } = await sums(pool.poolId);
    expect(machines.map((m) => m.allocated_gpu_count).sort()).to.deep.equal([4, 8]);
    expect(counters.allocated_gpu_count).to.equal(12);
  });
});
