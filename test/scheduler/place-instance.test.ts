import { expect } from "chai";
import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from "../../hub/domain/errors.js";
import { choosePlacement } from "../../hub/scheduler/choose-placement.js";
import { chargeMachine } from "../../hub/scheduler/machine-charge.js";
import { placeInstance } from "../../hub/scheduler/place-instance.js";
import { readFullSnapshot } from "../../hub/scheduler/snapshot-query.js";
import type { Placement, PlacementRequest } from "../../hub/scheduler/placement-request.js";
import { releaseAllocation } from "../../hub/scheduler/release-allocation.js";
import { getSchedulingRecord } from "../../hub/scheduler/scheduling-history-store.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { seedMachines, seedPool } from "./fleet-seed.js";

function req(poolId: string | null, over: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    instanceId: newId(),
    vmId: newId(),
    tenantId: newId(),
    computePoolId: poolId,
    rentalMode: "shared",
    cpuCores: 2,
    memoryGb: 4,
    storageGb: 20,
    gpuCount: 0,
    gpuModel: null,
    requiredLabels: {},
    affinityMachineId: null,
    ...over,
  };
}

const nothing = async () => undefined;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("placeInstance and releaseAllocation on the database", function () {
  let t: TestDatabase;
  let knex: Knex;
  before(async () => {
    t = await createTestDatabase();
    knex = t.db.knex;
  });
  after(async () => t?.drop());

  async function machineRow(id: string) {
    return knex("compute_machines")
      .where("id", id)
      .first("allocated_cpu_cores", "allocated_memory_gb", "allocated_storage_gb", "allocated_gpu_count");
  }
  async function poolRow(id: string) {
    return knex("compute_pools")
      .where("id", id)
      .first("allocated_cpu_cores", "allocated_memory_gb", "allocated_storage_gb", "allocated_gpu_count");
  }
  const zero = { allocated_cpu_cores: 0, allocated_memory_gb: 0, allocated_storage_gb: 0, allocated_gpu_count: 0 };

  it("charges machine and pool exactly, records history and runs onPlaced in the same transaction", async () => {
    const pool = await seedPool(knex, { name: "charge" });
    const [m] = await seedMachines(knex, pool, 1);
    const r = req(pool.poolId, { cpuCores: 3, memoryGb: 6.5, storageGb: 40 });
    let seenInTrx: unknown;
    const placement = await placeInstance(knex, r, async (trx, p) => {
      // The charge is visible inside the transaction the caller writes its VM row in.
      seenInTrx = await trx("machine_allocations").where("vm_id", r.vmId).first("compute_machine_id");
      expect(p.computeMachineId).to.equal(m);
    });
    expect(seenInTrx).to.deep.equal({ compute_machine_id: m });
    expect(placement).to.deep.include({
      computeMachineId: m,
      computePoolId: pool.poolId,
      edgeDataCenterId: pool.dataCenterId,
      policy: "load_balance",
      exclusive: false,
      cpuCores: 3,
      memoryGb: 6.5,
      storageGb: 40,
    });
    expect(placement.gpus).to.deep.equal([]);
    const agent = await knex("compute_machines").where("id", m).first("agent_id");
    expect(placement.agentId).to.equal(agent.agent_id);
    const charged = {
      allocated_cpu_cores: 3,
      allocated_memory_gb: 6.5,
      allocated_storage_gb: 40,
      allocated_gpu_count: 0,
    };
    expect(await machineRow(m!)).to.deep.equal(charged);
    expect(await poolRow(pool.poolId)).to.deep.equal(charged);
    const record = await getSchedulingRecord(knex, placement.historyId);
    expect(record).to.deep.include({
      instanceId: r.instanceId,
      vmId: r.vmId,
      tenantId: r.tenantId,
      outcome: "placed",
      chosenMachineId: m,
      candidatesConsidered: 1,
      failureReason: null,
      policy: "load_balance",
    });
    expect(record.request.cpu_cores).to.equal(3);

    expect(await knex.transaction((trx) => releaseAllocation(trx, r.vmId))).to.equal(true);
    expect(await machineRow(m!)).to.deep.equal(zero);
    expect(await poolRow(pool.poolId)).to.deep.equal(zero);
    // Idempotent: nothing held any more, nothing changes.
    expect(await knex.transaction((trx) => releaseAllocation(trx, r.vmId))).to.equal(false);
    expect(await machineRow(m!)).to.deep.equal(zero);
    expect(await poolRow(pool.poolId)).to.deep.equal(zero);
  });

  it("leaves nothing behind when onPlaced fails", async () => {
    const pool = await seedPool(knex);
    const [m] = await seedMachines(knex, pool, 1);
    const r = req(pool.poolId);
    let historyId = "";
    const err = await rejection(
      placeInstance(knex, r, async (_trx, p) => {
        historyId = p.historyId;
        throw new Error("VM row refused");
      }),
    );
    expect((err as Error).message).to.equal("VM row refused");
    expect(await machineRow(m!)).to.deep.equal(zero);
    expect(await poolRow(pool.poolId)).to.deep.equal(zero);
    expect(await knex("machine_allocations").where("vm_id", r.vmId).first()).to.equal(undefined);
    expect(await knex("scheduling_history").where("id", historyId).first()).to.equal(undefined);
  });

  it("allocates whole GPUs by row and gives the same rows back", async () => {
    const pool = await seedPool(knex, { gpuAllocationStrategy: "first_fit" });
    const [m] = await seedMachines(knex, pool, 1, { gpuInventory: "gpu-v100-with-error.csv", cpuCores: 32 });
    const r = req(pool.poolId, { gpuCount: 2, gpuModel: "Tesla V100-PCIE-32GB" });
    const placement = await placeInstance(knex, r, nothing);
    // Index 1 reported ERR! and is in error: first fit skips it.
    expect(placement.gpus.map((g) => g.index)).to.deep.equal([0, 2]);
    expect(placement.gpus[0]!.pciAddress).to.equal("0000:17:00.0");
    const rows = await knex("compute_machine_gpus")
      .where("compute_machine_id", m)
      .orderBy("gpu_index")
      .select("status", "allocated_vm_id");
    expect(rows.map((g) => g.status)).to.deep.equal(["allocated", "error", "allocated", "available"]);
    expect(rows[0]!.allocated_vm_id).to.equal(r.vmId);
    expect((await machineRow(m!))!.allocated_gpu_count).to.equal(2);
    expect((await poolRow(pool.poolId))!.allocated_gpu_count).to.equal(2);
    const record = await getSchedulingRecord(knex, placement.historyId);
    expect(record.chosenGpuIds).to.deep.equal(placement.gpus.map((g) => g.id));

    await knex.transaction((trx) => releaseAllocation(trx, r.vmId));
    const after = await knex("compute_machine_gpus")
      .where("compute_machine_id", m)
      .orderBy("gpu_index")
      .select("status");
    expect(after.map((g) => g.status)).to.deep.equal(["available", "error", "available", "available"]);
    expect(await machineRow(m!)).to.deep.equal(zero);
    expect(await poolRow(pool.poolId)).to.deep.equal(zero);
  });

  it("reserves an exclusive machine whole, once", async () => {
    const pool = await seedPool(knex);
    const [m] = await seedMachines(knex, pool, 1, { rentalMode: "exclusive", gpuInventory: "gpu-t4x2.csv" });
    const first = req(pool.poolId, { rentalMode: "exclusive" });
    const placement = await placeInstance(knex, first, nothing);
    expect(placement).to.deep.include({ exclusive: true, cpuCores: 16, memoryGb: 64, storageGb: 1000 });
    expect(placement.gpus.map((g) => g.index)).to.deep.equal([0, 1]);
    expect(await machineRow(m!)).to.deep.equal({
      allocated_cpu_cores: 16,
      allocated_memory_gb: 64,
      allocated_storage_gb: 1000,
      allocated_gpu_count: 2,
    });
    const err = await rejection(placeInstance(knex, req(pool.poolId, { rentalMode: "exclusive" }), nothing));
    expect(err).to.be.instanceOf(ResourceExhaustedError);
    expect((err as Error).message).to.contain("1 exclusive and already in use");
    await knex.transaction((trx) => releaseAllocation(trx, first.vmId));
    expect(await machineRow(m!)).to.deep.equal(zero);
  });

  it("answers not_found for an unknown pool and failed_precondition for one not active, writing nothing", async () => {
    const before = await knex("scheduling_history").count({ n: "*" }).first();
    const unknown = newId();
    const err = await rejection(placeInstance(knex, req(unknown), nothing));
    expect(err).to.be.instanceOf(NotFoundError);
    expect((err as Error).message).to.equal(`Cannot find compute pool ${unknown}`);
    const pool = await seedPool(knex, { name: "resting", status: "maintenance" });
    await seedMachines(knex, pool, 1);
    const err2 = await rejection(placeInstance(knex, req(pool.poolId), nothing));
    expect(err2).to.be.instanceOf(FailedPreconditionError);
    expect((err2 as FailedPreconditionError).reason).to.equal("POOL_NOT_ACTIVE");
    expect((err2 as Error).message).to.match(/compute pool "resting" is maintenance$/);
    const afterwards = await knex("scheduling_history").count({ n: "*" }).first();
    expect(Number(afterwards!.n)).to.equal(Number(before!.n));
  });

  it("refuses zero CPUs naming the field, before reading anything", async () => {
    const pool = await seedPool(knex);
    const err = await rejection(placeInstance(knex, req(pool.poolId, { cpuCores: 0 }), nothing));
    expect(err).to.be.instanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).to.equal("cpu_cores");
  });

  it("records a readable reason when nothing fits and says where to find it", async () => {
    const pool = await seedPool(knex, { name: "tight" });
    await seedMachines(knex, pool, 3, (i) => (i === 2 ? { status: "maintenance" } : { cpuCores: 3 }));
    const r = req(pool.poolId, { cpuCores: 4 });
    const err = await rejection(placeInstance(knex, r, nothing));
    expect(err).to.be.instanceOf(ResourceExhaustedError);
    const e = err as ResourceExhaustedError;
    expect(e.reason).to.equal("NO_CAPACITY");
    const record = await getSchedulingRecord(knex, e.metadata.scheduling_history_id!);
    expect(record).to.deep.include({
      outcome: "failed",
      instanceId: r.instanceId,
      candidatesConsidered: 3,
      chosenMachineId: null,
      failureReason:
        'no machine in pool "tight" has 4 free CPU cores, 4 GB memory and 20 GB storage (3 machines considered: 1 in maintenance, 2 short of CPU)',
    });
    expect(record.rejected).to.deep.equal({ maintenance: 1, cpu: 2 });
    expect(e.message).to.equal(`Cannot place instance ${r.instanceId}: ${record.failureReason}`);
    expect(await knex("machine_allocations").where("vm_id", r.vmId).first()).to.equal(undefined);
  });

  it("names a GPU model nobody has", async () => {
    const pool = await seedPool(knex, { name: "gpus" });
    await seedMachines(knex, pool, 2, (i) => ({ gpuInventory: i === 0 ? "gpu-a100x4.csv" : "gpu-t4x2.csv" }));
    const err = (await rejection(
      placeInstance(knex, req(pool.poolId, { gpuCount: 1, gpuModel: "H100" }), nothing),
    )) as ResourceExhaustedError;
    const record = await getSchedulingRecord(knex, err.metadata.scheduling_history_id!);
    expect(record.failureReason).to.equal(
      'no machine in pool "gpus" has a GPU of model "H100" (GPU models there: "NVIDIA A100-SXM4-80GB" ×4, "Tesla T4" ×2; 2 machines considered: 2 without GPU model "H100")',
    );
    const held = await knex("compute_machine_gpus")
      .where("status", "allocated")
      .whereIn("compute_machine_id", knex("compute_machines").where("resource_pool_id", pool.poolId).select("id"));
    expect(held).to.deep.equal([]);
  });

  it("rotates round_robin placements across the pool's machines", async () => {
    const pool = await seedPool(knex, { schedulingPolicy: "round_robin" });
    const machines = await seedMachines(knex, pool, 3);
    const chosen: string[] = [];
    for (let i = 0; i < 6; i++) chosen.push((await placeInstance(knex, req(pool.poolId), nothing)).computeMachineId);
    expect(new Set(chosen.slice(0, 3))).to.deep.equal(new Set(machines));
    expect(chosen.slice(3)).to.deep.equal(chosen.slice(0, 3));
  });

  it("places in any active pool when none is named", async () => {
    const resting = await seedPool(knex, { status: "disabled" });
    await seedMachines(knex, resting, 1, { cpuCores: 512 });
    const open = await seedPool(knex);
    const [m] = await seedMachines(knex, open, 1, { cpuCores: 512, labels: { only: "here" } });
    const p: Placement = await placeInstance(
      knex,
      req(null, { cpuCores: 300, requiredLabels: { only: "here" } }),
      nothing,
    );
    expect(p.computeMachineId).to.equal(m);
    expect(p.computePoolId).to.equal(open.poolId);
  });

  it("the guarded charge refuses a choice the machine no longer fits, whatever the snapshot said", async () => {
    const pool = await seedPool(knex);
    const [m] = await seedMachines(knex, pool, 1, { cpuCores: 4, gpuInventory: "gpu-t4x2.csv" });
    const r = req(pool.poolId, { cpuCores: 4, gpuCount: 1 });
    const stale = await knex.transaction((trx) => readFullSnapshot(trx, pool.poolId));
    const choice = choosePlacement(stale, r).chosen!;
    expect(choice.machine.id).to.equal(m);
    // Another writer takes a core after the snapshot.
    await knex("compute_machines").where("id", m).update({ allocated_cpu_cores: 1 });
    expect(await knex.transaction((trx) => chargeMachine(trx, choice, r))).to.equal(false);
    await knex("compute_machines").where("id", m).update({ allocated_cpu_cores: 0 });
    // Or the GPU the snapshot saw free went to maintenance: the attempt must be rolled back.
    await knex("compute_machine_gpus").where("id", choice.charge.gpus[0]!.id).update({ status: "maintenance" });
    const lost = await rejection(
      knex.transaction(async (trx) => {
        if (!(await chargeMachine(trx, choice, r))) throw new Error("lost");
      }),
    );
    expect((lost as Error).message).to.equal("lost");
    expect(await machineRow(m!)).to.deep.equal(zero);
    expect(await poolRow(pool.poolId)).to.deep.equal(zero);
    // placeInstance decides again on a fresh snapshot and takes the other GPU.
    const placed = await placeInstance(knex, r, nothing);
    expect(placed.gpus.map((g) => g.index)).to.deep.equal([1]);
  });
});
