import { expect } from "chai";
import type { Knex } from "knex";
import {
  ComputeMachineGpuStatus,
  ComputeMachineStatus,
  InfrastructureService,
} from "../../gen/edgehub/admin/v1/infrastructure_pb.js";
import { MachineType } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { newId } from "../../hub/db/ids.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { explainCaptured, readBound } from "../plan/plan-reading.js";

// The infrastructure lists read in proportion to their answers (as issue 16 holds every list to),
// on a fleet with skew: a pool of 4 000 machines beside one of 3, labels and GPUs on a few.

const BIG = 4000;

async function seed(knex: Knex) {
  const dc = newId();
  const [big, tiny] = [newId(), newId()];
  await knex("edge_data_centers").insert({ id: dc, name: "plan-dc" });
  await knex("compute_pools").insert([
    { id: big, name: "plan-big", edge_data_center_id: dc },
    { id: tiny, name: "plan-tiny", edge_data_center_id: dc },
  ]);
  const machines = Array.from({ length: BIG + 3 }, (_, i) => ({
    id: newId(),
    hostname: i < BIG ? `plan-node-${i}` : `plan-qzx7-${i}`,
    machine_type: i % 1000 === 7 ? "gpu_server" : "cpu_server",
    cpu_cores: 32,
    memory_gb: 128,
    storage_gb: 1000,
    gpu_count: i % 1000 === 7 ? 4 : 0,
    status: i % 997 === 3 ? "maintenance" : "active",
    resource_pool_id: i < BIG ? big : tiny,
    edge_data_center_id: dc,
    labels: JSON.stringify(i % 1500 === 11 ? { gpu: "a100" } : { rack: `r${i % 40}` }),
  }));
  for (let i = 0; i < machines.length; i += 500) await knex("compute_machines").insert(machines.slice(i, i + 500));
  const gpuMachines = machines.filter((m) => m.gpu_count > 0);
  await knex("compute_machine_gpus").insert(
    gpuMachines.flatMap((m, k) =>
      [0, 1, 2, 3].map((index) => ({
        id: newId(),
        compute_machine_id: m.id,
        gpu_index: index,
        model: "A100",
        status: k === 0 && index === 2 ? "maintenance" : "available",
      })),
    ),
  );
  await knex.raw("ANALYZE compute_machines, compute_machine_gpus, compute_pools");
  return { big, tiny, gpuMachine: gpuMachines[0]!.id };
}

describe(`infrastructure list plans (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, function () {
  this.timeout(600_000);
  let t: TestHub;
  let ids: Awaited<ReturnType<typeof seed>>;
  const captured: { sql: string; bindings: readonly unknown[] }[] = [];
  const capture = (q: { sql?: string; bindings?: readonly unknown[] }) => {
    if (q.sql && /^\s*select\b/i.test(q.sql)) captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
  };
  before(async () => {
    t = await startTestHub();
    ids = await seed(t.database.db.knex);
    t.database.db.knex.on("query", capture);
  });
  after(async () => {
    t?.database.db.knex.off("query", capture);
    await t?.stop();
  });

  async function readings(call: () => Promise<unknown>, unpaged = false) {
    captured.length = 0;
    await call();
    return explainCaptured(t.database.db.knex, captured.splice(0), { unpaged });
  }

  it("machines by pool, type, status, labels and hostname read about what they return", async () => {
    const token = await t.adminToken();
    const infra = t.client(InfrastructureService, token);
    const calls: [string, () => Promise<unknown>, boolean][] = [
      ["tiny pool", () => infra.listComputeMachines({ computePoolId: ids.tiny, pageSize: 20 }), false],
      ["big pool", () => infra.listComputeMachines({ computePoolId: ids.big, pageSize: 20 }), false],
      ["gpu servers", () => infra.listComputeMachines({ machineType: MachineType.GPU_SERVER, pageSize: 20 }), false],
      [
        "maintenance",
        () => infra.listComputeMachines({ status: ComputeMachineStatus.MAINTENANCE, pageSize: 20 }),
        false,
      ],
      ["rare label", () => infra.listComputeMachines({ labels: { gpu: "a100" }, pageSize: 20 }), false],
      ["rare hostname", () => infra.listComputeMachines({ hostnameContains: "qzx7", pageSize: 20 }), true],
      [
        "GPUs in maintenance",
        () => infra.listComputeMachineGpus({ status: ComputeMachineGpuStatus.MAINTENANCE }),
        false,
      ],
      ["GPUs of a machine", () => infra.listComputeMachineGpus({ computeMachineId: ids.gpuMachine }), false],
    ];
    const violations: string[] = [];
    for (const [what, call, unpaged] of calls) {
      for (const r of await readings(call, unpaged)) {
        if (!/compute_machine/.test(r.sql)) continue;
        // A substring of a hostname on a few thousand machines: the planner walks the id order
        // (cheaper than the trigram index at this size), as issue 16 allows the catalog's thousands.
        const bound = readBound(Math.max(r.returned, r.matches ?? 0), r.sql);
        if (r.read > (what === "rare hostname" ? Math.max(bound, 10_000) : bound))
          violations.push(`${what}: read ${r.read} for ${r.returned}: ${r.sql}`);
      }
    }
    expect(violations).to.deep.equal([]);
  });
});
