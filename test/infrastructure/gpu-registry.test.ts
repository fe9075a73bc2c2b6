import { expect } from "chai";
import { newId } from "../../hub/db/ids.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { gpusOf, hello, inventory, machineOf, recordedGpus, seedSite, type Site } from "./infrastructure-fixtures.js";

const view = (rows: Record<string, unknown>[]) =>
  rows.map((g) => [g.gpu_index, g.model, g.memory_mib, g.pci_address, g.status]);

describe(`GPUs registered at Hello from recorded nvidia-smi inventories (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, function () {
  let t: TestDatabase;
  let site: Site;
  before(async () => {
    t = await createTestDatabase();
    site = await seedSite(t.db.knex);
  });
  after(async () => t?.drop());

  it("inserts one available row per GPU with model, memory and PCI address; gpu_count and the pool total follow", async () => {
    const knex = t.db.knex;
    const agentId = newId();
    await hello(knex, site, [
      { agentId, inventory: inventory("gpu-a", { gpus: recordedGpus("nvidia-smi-a100x4.csv") }) },
    ]);
    const m = await machineOf(knex, agentId);
    expect(m.machine_type).to.equal("gpu_server");
    expect(m.gpu_count).to.equal(4);
    expect(view(await gpusOf(knex, m.id as string))).to.deep.equal([
      [0, "NVIDIA A100-PCIE-40GB", 40960, "00000000:17:00.0", "available"],
      [1, "NVIDIA A100-PCIE-40GB", 40960, "00000000:31:00.0", "available"],
      [2, "NVIDIA A100-PCIE-40GB", 40960, "00000000:B1:00.0", "available"],
      [3, "NVIDIA A100-PCIE-40GB", 40960, "00000000:CA:00.0", "available"],
    ]);
    expect((await knex("compute_pools").where({ id: site.poolId }).first()).total_gpu_count).to.equal(4);
  });

  it("a later inventory: a lost GPU and a missing one go to error, an allocated one is never touched, maintenance stays", async () => {
    const knex = t.db.knex;
    const agentId = newId();
    await hello(knex, site, [
      { agentId, inventory: inventory("gpu-b", { gpus: recordedGpus("nvidia-smi-a100x4.csv") }) },
    ]);
    const machineId = (await machineOf(knex, agentId)).id as string;
    const vmId = newId();
    // The scheduler passed GPU 0 through to a VM; an operator took GPU 1 into maintenance.
    await knex("compute_machine_gpus")
      .where({ compute_machine_id: machineId, gpu_index: 0 })
      .update({ status: "allocated", allocated_vm_id: vmId, model: "as placed" });
    await knex("compute_machines").where({ id: machineId }).update({ allocated_gpu_count: 1 });
    await knex("compute_machine_gpus")
      .where({ compute_machine_id: machineId, gpu_index: 1 })
      .update({ status: "maintenance" });

    await hello(knex, site, [
      { agentId, inventory: inventory("gpu-b", { gpus: recordedGpus("nvidia-smi-a100x4-gpu2-lost.csv") }) },
    ]);
    const rows = await gpusOf(knex, machineId);
    expect(view(rows)).to.deep.equal([
      [0, "as placed", 40960, "00000000:17:00.0", "allocated"],
      [1, "NVIDIA A100-PCIE-40GB", 40960, "00000000:31:00.0", "maintenance"],
      // A lost GPU's blank readings keep what was known of it.
      [2, "NVIDIA A100-PCIE-40GB", 40960, "00000000:B1:00.0", "error"],
      [3, "NVIDIA A100-PCIE-40GB", 40960, "00000000:CA:00.0", "error"],
    ]);
    expect(rows[0]!.allocated_vm_id).to.equal(vmId);
    const m = await machineOf(knex, agentId);
    expect([m.gpu_count, m.allocated_gpu_count, m.capacity_shortfall]).to.deep.equal([2, 1, false]);

    // The host is repaired: the four GPUs answer again; the failed ones are available, the others keep their state.
    await hello(knex, site, [
      { agentId, inventory: inventory("gpu-b", { gpus: recordedGpus("nvidia-smi-a100x4.csv") }) },
    ]);
    expect((await gpusOf(knex, machineId)).map((g) => g.status)).to.deep.equal([
      "allocated",
      "maintenance",
      "available",
      "available",
    ]);
    expect((await machineOf(knex, agentId)).gpu_count).to.equal(4);
  });

  it("an agent whose nvidia-smi stopped answering reports no GPUs: they go to error, gpu_count never drops below what is allocated", async () => {
    const knex = t.db.knex;
    const agentId = newId();
    await hello(knex, site, [
      { agentId, inventory: inventory("gpu-c", { gpus: recordedGpus("nvidia-smi-t4x2.csv") }) },
    ]);
    const machineId = (await machineOf(knex, agentId)).id as string;
    await knex("compute_machine_gpus")
      .where({ compute_machine_id: machineId, gpu_index: 1 })
      .update({ status: "allocated", allocated_vm_id: newId() });
    await knex("compute_machines").where({ id: machineId }).update({ allocated_gpu_count: 2 });
    await hello(knex, site, [{ agentId, inventory: inventory("gpu-c", { gpus: [] }) }]);
    expect((await gpusOf(knex, machineId)).map((g) => g.status)).to.deep.equal(["error", "allocated"]);
    const m = await machineOf(knex, agentId);
    // One GPU left that is not in error, two allocated (the counter says so): capacity held, flagged.
    expect([m.gpu_count, m.capacity_shortfall]).to.deep.equal([2, true]);
    // One VM leaves: the machine is down to the one GPU it still has.
    await knex("compute_machines").where({ id: machineId }).update({ allocated_gpu_count: 1 });
    const released = await machineOf(knex, agentId);
    expect([released.gpu_count, released.capacity_shortfall]).to.deep.equal([1, false]);
  });

  it("registers any number of GPU servers in the same number of statements", async () => {
    const knex = t.db.knex;
    const batch = (n: number, file: string) =>
      Array.from({ length: n }, (_, i) => ({
        agentId: newId(),
        inventory: inventory(`many-${file}-${i}`, { gpus: recordedGpus(file) }),
      }));
    const small = await hello(knex, site, batch(2, "nvidia-smi-t4x2.csv"));
    const large = await hello(knex, site, batch(40, "nvidia-smi-a100x4.csv"));
    expect(large).to.equal(small);
    const again = batch(40, "nvidia-smi-a100x4.csv");
    await hello(knex, site, again);
    expect(await hello(knex, site, again)).to.equal(small);
    const gpus = await knex("compute_machine_gpus as g")
      .join("compute_machines as m", "m.id", "g.compute_machine_id")
      .whereIn(
        "m.agent_id",
        again.map((a) => a.agentId),
      )
      .count<{ n: string }[]>({ n: "*" });
    expect(Number(gpus[0]!.n)).to.equal(160);
  });
});
