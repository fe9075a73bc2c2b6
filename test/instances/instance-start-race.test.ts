import { expect } from "chai";
import { Code, ConnectError } from "@connectrpc/connect";
import { InstanceStatus } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { errorReasons } from "../support/api-conventions.js";
import { seedMachines, seedPool } from "../scheduler/fleet-seed.js";
import { InstanceWorld } from "./instance-fixtures.js";

// Issue 10: "200 concurrent starts on a pool that fits 50 → exactly 50 running, 150 refused with
// resource_exhausted and a scheduling-history reason, counters exact", through the instance API.

describe("StartInstance race: 200 concurrent starts on a pool that fits 50", function () {
  this.timeout(600_000);
  const w = new InstanceWorld();
  before(() => w.start());
  after(() => w.stop());

  it("places exactly 50, refuses 150 with NO_CAPACITY and a history id, and the counters are exact", async () => {
    const pool = await seedPool(w.knex);
    const machines = await seedMachines(w.knex, pool, 5, { cpuCores: 10, memoryGb: 100, storageGb: 1000 });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++)
      ids.push((await w.create({ name: `race-${i}`, cpuCores: 1, memoryGb: 1, storageGb: 1 })).instance!.id);
    const outcomes = await Promise.all(
      ids.map((id) =>
        w
          .as(w.alice)
          .startInstance({ id, computePoolId: pool.poolId })
          .then(
            (r) => ({ ok: true as const, history: r.schedulingHistoryId }),
            (err: unknown) => ({ ok: false as const, err: ConnectError.from(err) }),
          ),
      ),
    );
    const placed = outcomes.filter((o) => o.ok);
    const refused = outcomes.flatMap((o) => (o.ok ? [] : [o.err]));
    expect(placed).to.have.length(50);
    expect(refused).to.have.length(150);
    for (const err of refused) {
      expect(err.code, err.rawMessage).to.equal(Code.ResourceExhausted);
      expect(errorReasons(err)).to.deep.equal(["NO_CAPACITY"]);
    }
    const failedHistory = await w
      .knex("instance_events")
      .where({ kind: "placement_failed" })
      .whereIn("instance_id", ids);
    expect(failedHistory).to.have.length(150);
    for (const e of failedHistory) expect(e.attributes).to.have.property("scheduling_history_id");

    const rows = (await w
      .knex("compute_machines")
      .whereIn("id", machines)
      .select("allocated_cpu_cores", "allocated_memory_gb", "allocated_storage_gb")) as Record<string, number>[];
    expect(rows.map((r) => Number(r.allocated_cpu_cores))).to.deep.equal([10, 10, 10, 10, 10]);
    expect(rows.reduce((s, r) => s + Number(r.allocated_memory_gb), 0)).to.equal(50);
    const statuses = (await w.knex("instances").whereIn("id", ids).pluck("status")) as string[];
    expect(statuses.filter((s) => s === "initializing")).to.have.length(50);
    expect(statuses.filter((s) => s === "stopped")).to.have.length(150);
    const [vms] = await w.knex("virtual_machines").whereIn("instance_id", ids).count<{ n: number }[]>({ n: "*" });
    expect(Number(vms!.n)).to.equal(50);
    const [quota] = await w
      .knex("quota_consumers")
      .whereIn("consumer_id", ids)
      .sum<{ cpu: number }[]>({ cpu: "occ_cpu_cores" });
    expect(Number(quota!.cpu)).to.equal(50);

    // The 50 converge to running on the agents' reports.
    const started = ids.filter((_, i) => outcomes[i]!.ok);
    await w.converge(started[started.length - 1]!, InstanceStatus.RUNNING);
    for (let i = 0; i < 50; i++) {
      const left = (await w.knex("instances").whereIn("id", started).whereNot({ status: "running" }).first("id")) as
        { id: string } | undefined;
      if (!left) break;
      await w.converge(left.id, InstanceStatus.RUNNING);
    }
    expect(await w.knex("instances").whereIn("id", started).where({ status: "running" }).pluck("id")).to.have.length(
      50,
    );
  });
});
