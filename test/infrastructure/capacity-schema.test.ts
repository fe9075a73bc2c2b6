import { expect } from "chai";
import { newId } from "../../hub/db/ids.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { hello, inventory, machineOf, seedSite, type Site } from "./infrastructure-fixtures.js";

/** The database error a statement fails with (the test fails if it succeeds). */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { constraint?: string }).constraint ?? (err as Error).message);
  }
  throw new Error("expected the statement to be refused");
}

describe(`capacity schema (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, function () {
  let t: TestDatabase;
  let site: Site;
  let machineId: string;
  const agentId = newId();
  before(async () => {
    t = await createTestDatabase();
    site = await seedSite(t.db.knex);
    await hello(t.db.knex, site, [
      { agentId, inventory: inventory("cap-1", { threads: 16, memoryGb: 64, diskGb: 500 }) },
    ]);
    machineId = (await machineOf(t.db.knex, agentId)).id as string;
  });
  after(async () => t?.drop());

  it("refuses, in SQL, any allocation above a machine's capacity or below zero", async () => {
    const knex = t.db.knex;
    const m = () => knex("compute_machines").where({ id: machineId });
    await m().update({ allocated_cpu_cores: 16, allocated_memory_gb: 64, allocated_storage_gb: 500 });
    expect(await refusal(m().update({ allocated_cpu_cores: 17 }))).to.equal("compute_machines_allocation_check");
    expect(await refusal(m().update({ allocated_memory_gb: 64.5 }))).to.equal("compute_machines_allocation_check");
    expect(await refusal(m().update({ allocated_storage_gb: 501 }))).to.equal("compute_machines_allocation_check");
    expect(await refusal(m().update({ allocated_gpu_count: 1 }))).to.equal("compute_machines_allocation_check");
    expect(await refusal(m().update({ allocated_cpu_cores: -1 }))).to.equal("compute_machines_allocation_check");
    // Shrinking capacity below the allocation is refused just the same.
    expect(await refusal(m().update({ cpu_cores: 8 }))).to.equal("compute_machines_allocation_check");
    // A concurrent-looking charge: the guarded increment that would overshoot fails, the row keeps its value.
    expect(await refusal(m().increment("allocated_cpu_cores", 1))).to.equal("compute_machines_allocation_check");
    expect((await m().first()).allocated_cpu_cores).to.equal(16);
    await m().update({ allocated_cpu_cores: 0, allocated_memory_gb: 0, allocated_storage_gb: 0 });
  });

  it("ties a GPU's allocated status to its VM, and pool policies and GPU statuses to their lists", async () => {
    const knex = t.db.knex;
    const gpu = { id: newId(), compute_machine_id: machineId, gpu_index: 0, model: "T4" };
    expect(await refusal(knex("compute_machine_gpus").insert({ ...gpu, status: "allocated" }))).to.equal(
      "compute_machine_gpus_allocation_check",
    );
    expect(
      await refusal(knex("compute_machine_gpus").insert({ ...gpu, status: "available", allocated_vm_id: newId() })),
    ).to.equal("compute_machine_gpus_allocation_check");
    expect(await refusal(knex("compute_machine_gpus").insert({ ...gpu, status: "broken" }))).to.equal(
      "compute_machine_gpus_status_check",
    );
    await knex("compute_machine_gpus").insert({ ...gpu, status: "allocated", allocated_vm_id: newId() });
    expect(await refusal(knex("compute_machine_gpus").insert({ ...gpu, id: newId(), status: "available" }))).to.match(
      /compute_machine_gpus_compute_machine_id_gpu_index_unique|duplicate/,
    );
    expect(
      await refusal(knex("compute_pools").where({ id: site.poolId }).update({ scheduling_policy: "random" })),
    ).to.equal("compute_pools_scheduling_policy_check");
    await knex("compute_machine_gpus").where({ id: gpu.id }).delete();
  });

  it("a Hello reporting less hardware than is allocated holds capacity at the allocation, flagged, fails no one in the batch, and capacity shrinks back as VMs leave", async () => {
    const knex = t.db.knex;
    const other = newId();
    await hello(knex, site, [{ agentId: other, inventory: inventory("cap-2", { threads: 8 }) }]);
    await knex("compute_machines")
      .where({ id: machineId })
      .update({ allocated_cpu_cores: 12, allocated_memory_gb: 48, allocated_storage_gb: 400 });
    // A DIMM and a disk died: 64 → 32 GB memory, 500 → 300 GB storage; the other agent doubled its cores.
    await hello(knex, site, [
      { agentId, inventory: inventory("cap-1", { threads: 16, memoryGb: 32, diskGb: 300 }) },
      { agentId: other, inventory: inventory("cap-2", { threads: 16 }) },
    ]);
    const m = await machineOf(knex, agentId);
    expect([m.cpu_cores, m.memory_gb, m.storage_gb, m.capacity_shortfall]).to.deep.equal([16, 48, 400, true]);
    expect((await machineOf(knex, other)).cpu_cores).to.equal(16);
    // The pool's total counts what is held, so allocated never exceeds it.
    const pool = await knex("compute_pools").where({ id: site.poolId }).first();
    expect(pool.total_cpu_cores).to.equal(32);
    expect(pool.total_memory_gb).to.equal(48 + 128);

    // As VMs leave, capacity shrinks back towards what the agent reported, with the totals, in the
    // releasing statement itself: nothing is ever placed on the missing memory.
    await knex("compute_machines").where({ id: machineId }).update({ allocated_memory_gb: 40 });
    const partly = await machineOf(knex, agentId);
    expect([partly.memory_gb, partly.storage_gb, partly.capacity_shortfall]).to.deep.equal([40, 400, true]);
    expect((await knex("compute_pools").where({ id: site.poolId }).first()).total_memory_gb).to.equal(40 + 128);
    await knex("compute_machines")
      .where({ id: machineId })
      .update({ allocated_cpu_cores: 0, allocated_memory_gb: 0, allocated_storage_gb: 0 });
    const after = await machineOf(knex, agentId);
    expect([after.cpu_cores, after.memory_gb, after.storage_gb, after.capacity_shortfall]).to.deep.equal([
      16,
      32,
      300,
      false,
    ]);
    const pool2 = await knex("compute_pools").where({ id: site.poolId }).first();
    expect([pool2.total_cpu_cores, pool2.total_memory_gb, pool2.total_storage_gb]).to.deep.equal([32, 32 + 128, 1300]);
    const dc = await knex("edge_data_centers").where({ id: site.dataCenterId }).first();
    expect([dc.total_cpu_cores, dc.total_memory_gb, dc.total_storage_gb]).to.deep.equal([32, 32 + 128, 1300]);
    // A flagged machine cannot be charged beyond what it still holds.
    await knex("compute_machines").where({ id: machineId }).update({ allocated_memory_gb: 32 });
    expect(
      await refusal(knex("compute_machines").where({ id: machineId }).update({ allocated_memory_gb: 33 })),
    ).to.equal("compute_machines_allocation_check");
    // The next Hello agrees with what the release left.
    await hello(knex, site, [{ agentId, inventory: inventory("cap-1", { threads: 16, memoryGb: 32, diskGb: 300 }) }]);
    const again = await machineOf(knex, agentId);
    expect([again.memory_gb, again.capacity_shortfall]).to.deep.equal([32, false]);
    expect((await knex("compute_pools").where({ id: site.poolId }).first()).total_memory_gb).to.equal(32 + 128);
  });
});
