import { expect } from "chai";
import type { Knex } from "knex";
import type { Caller } from "../../hub/api/caller.js";
import { newId } from "../../hub/db/ids.js";
import { DomainError, ResourceExhaustedError } from "../../hub/domain/errors.js";
import { changeMachineStatus, transferComputeMachine } from "../../hub/infrastructure/compute-machine-store.js";
import { placeInstance } from "../../hub/scheduler/place-instance.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { hello, inventory, type Site } from "./infrastructure-fixtures.js";

// Operators transfer and decommission machines and agents say Hello while the scheduler places
// VMs in the same pool: nothing deadlocks (every writer locks pools before machines), a machine is
// never transferred with something on it, and counters and totals add up afterwards.

const caller = (): Caller => ({
  principal: { userId: newId(), username: "ops", role: "operator", tenantId: null },
  requestId: newId(),
  at: new Date(),
});

async function seedConnected(knex: Knex, site: Site, n: number) {
  const agents = Array.from({ length: n }, () => newId());
  await knex("agents").insert(
    agents.map((id, i) => ({
      id,
      role: "compute",
      hostname: `race-${i}`,
      edge_data_center_id: site.dataCenterId,
      compute_pool_id: site.poolId,
      certificate_serial: String(i + 1),
      certificate_expires_at: new Date(Date.now() + 86_400_000),
      status: "connected",
    })),
  );
  const helloAll = () =>
    hello(
      knex,
      site,
      agents.map((agentId, i) => ({ agentId, inventory: inventory(`race-${i}`, { threads: 8, memoryGb: 32 }) })),
    );
  await helloAll();
  const machines = await knex("compute_machines").whereIn("agent_id", agents).orderBy("hostname").pluck("id");
  await knex("compute_machines").whereIn("id", machines).update({ health_status: "healthy" });
  return { machines: machines as string[], helloAll };
}

describe(`infrastructure changes racing the scheduler (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, function () {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => t?.drop());

  for (let round = 1; round <= 3; round++) {
    it(`round ${round}: placements, a transfer, a decommission and a Hello batch settle consistently`, async () => {
      const knex = t.db.knex;
      const dc = newId();
      const [from, to] = [newId(), newId()].sort() as [string, string];
      await knex("edge_data_centers").insert({ id: dc, name: `race-dc-${dc}` });
      await knex("compute_pools").insert([
        { id: from, name: `race-from-${from}`, edge_data_center_id: dc },
        { id: to, name: `race-to-${to}`, edge_data_center_id: dc },
      ]);
      const site = { dataCenterId: dc, poolId: from };
      const { machines, helloAll } = await seedConnected(knex, site, 4);
      const [, , moving, retiring] = machines as [string, string, string, string];

      const placements = Array.from({ length: 12 }, () =>
        placeInstance(
          knex,
          {
            instanceId: newId(),
            vmId: newId(),
            tenantId: newId(),
            computePoolId: from,
            rentalMode: "shared",
            cpuCores: 2,
            memoryGb: 4,
            storageGb: 10,
            gpuCount: 0,
            gpuModel: null,
            requiredLabels: {},
            affinityMachineId: null,
          },
          async () => undefined,
        ),
      );
      const changes = [
        transferComputeMachine(knex, caller(), moving, "", to),
        changeMachineStatus(knex, caller(), retiring, "decommission"),
        helloAll(),
      ];
      const settled = await Promise.allSettled([...placements, ...changes]);
      // Only domain refusals are acceptable: no deadlock, no CHECK violation, no serialization error.
      for (const s of settled)
        if (s.status === "rejected")
          expect(s.reason, String((s.reason as Error).message)).to.be.instanceOf(DomainError);
      const transfer = settled[placements.length]!;
      if (transfer.status === "rejected")
        expect((transfer.reason as { reason?: string }).reason ?? String(transfer.reason)).to.match(
          /MACHINE_HAS_ALLOCATIONS|CONCURRENT_CHANGE/,
        );
      for (const s of settled.slice(0, placements.length))
        if (s.status === "rejected") expect(s.reason).to.be.instanceOf(ResourceExhaustedError);

      const rows = await knex("compute_machines").whereIn("id", machines);
      const held = await knex("machine_allocations")
        .whereIn("compute_machine_id", machines)
        .select("compute_machine_id", "compute_pool_id", "cpu_cores");
      for (const m of rows) {
        const mine = held.filter((h) => h.compute_machine_id === m.id);
        expect(m.allocated_cpu_cores, `machine ${m.hostname}`).to.equal(mine.reduce((s, h) => s + h.cpu_cores, 0));
        // Everything on a machine was charged to the pool it is in.
        for (const h of mine) expect(h.compute_pool_id).to.equal(m.resource_pool_id);
      }
      const moved = rows.find((m) => m.id === moving)!;
      expect(moved.resource_pool_id).to.equal(transfer.status === "fulfilled" ? to : from);
      expect(rows.find((m) => m.id === retiring)!.status).to.equal("decommissioning");
      for (const poolId of [from, to]) {
        const pool = await knex("compute_pools").where({ id: poolId }).first();
        const inPool = rows.filter((m) => m.resource_pool_id === poolId);
        const counted = inPool.filter((m) => m.status !== "decommissioning");
        expect(pool.total_cpu_cores).to.equal(counted.reduce((s, m) => s + m.cpu_cores, 0));
        expect(pool.allocated_cpu_cores).to.equal(inPool.reduce((s, m) => s + m.allocated_cpu_cores, 0));
      }
    });
  }
});
