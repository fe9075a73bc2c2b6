import { expect } from "chai";
import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import { placeInstance } from "../../hub/scheduler/place-instance.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import {
  createTestDatabase,
  postgresReachable,
  postgresServerDescription,
  type TestDatabase,
} from "../support/test-database.js";
import { seedMachines, seedPool } from "./fleet-seed.js";

// A writer outside placement that locks a machine, then its pool, meets a placement that locks
// the pool, then the machine: PostgreSQL breaks the cycle by aborting one. When placement is the
// one aborted, it decides again and places. PostgreSQL only: PGlite has one connection, so two
// transactions never wait on each other.

describe("placement aborted by a deadlock decides again", function () {
  let t: TestDatabase;
  let knex: Knex;
  before(async function () {
    skipUnlessBackend(this, await postgresReachable(), postgresServerDescription());
    t = await createTestDatabase("postgres");
    knex = t.db.knex;
  });
  after(async () => t?.drop());

  async function waitingOnLocks(): Promise<number> {
    const r = await knex.raw(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    return (r as { rows: { n: number }[] }).rows[0]!.n;
  }

  it("retries on a fresh snapshot and places once", async () => {
    const pool = await seedPool(knex);
    const [machine] = await seedMachines(knex, pool, 1);
    const other = await knex.transaction();
    try {
      // The other writer detects deadlocks late, so placement is the transaction PostgreSQL aborts.
      await other.raw(`SET LOCAL deadlock_timeout = '20s'`);
      await other.raw(`SELECT id FROM compute_machines WHERE id = ? FOR UPDATE`, [machine!]);
      const vmId = newId();
      const placing = placeInstance(
        knex,
        {
          instanceId: newId(),
          vmId,
          tenantId: newId(),
          computePoolId: pool.poolId,
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
      );
      // Placement holds the pool and waits for the machine.
      while ((await waitingOnLocks()) < 1) await new Promise((r) => setTimeout(r, 20));
      // Now the other writer asks for the pool: a cycle, which PostgreSQL breaks by aborting placement.
      await other.raw(`SELECT id FROM compute_pools WHERE id = ? FOR NO KEY UPDATE`, [pool.poolId]);
      await other.raw(`UPDATE compute_machines SET priority = 1 WHERE id = ?`, [machine!]);
      await other.commit();
      const placement = await placing;
      expect(placement.computeMachineId).to.equal(machine);
      const row = await knex("compute_machines").where("id", machine).first("allocated_cpu_cores", "priority");
      expect(row).to.deep.equal({ allocated_cpu_cores: 2, priority: 1 });
      const held = await knex("machine_allocations").where("vm_id", vmId).count({ n: "*" }).first();
      expect(Number(held!.n)).to.equal(1);
    } finally {
      if (!other.isCompleted()) await other.rollback();
    }
  });
});
