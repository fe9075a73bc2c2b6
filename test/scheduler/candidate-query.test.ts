import { expect } from "chai";
import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import { readSnapshot } from "../../hub/scheduler/candidate-query.js";
import { choosePlacement, type PlacementDecision } from "../../hub/scheduler/choose-placement.js";
import type { PlacementRequest } from "../../hub/scheduler/placement-request.js";
import { SCHEDULING_POLICIES, type SchedulingPolicy } from "../../hub/scheduler/scheduling-snapshot.js";
import { readFullSnapshot } from "../../hub/scheduler/snapshot-query.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { seedPool } from "./fleet-seed.js";

// The snapshot placement reads classifies and ranks machines in SQL and returns only the best in
// full (candidate-query.ts). Held here to the pure function's answer over every machine in full,
// on random fleets and requests: same machine, same GPUs, same counts, same words. The query
// returns 2 machines in full here (16 in the hub), so its SQL ranking is what decides.
const LIMIT = 2;

/** mulberry32: a small seeded generator, so a failure replays. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODELS = ["NVIDIA A100-SXM4-80GB", "Tesla T4", "nvidia a100-sxm4-80gb "];

async function seedRandomFleet(
  knex: Knex,
  r: () => number,
  policy: SchedulingPolicy,
  strategy: "first_fit" | "least_loaded",
  n: number,
) {
  const pool = await seedPool(knex, { schedulingPolicy: policy, gpuAllocationStrategy: strategy });
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const agentId = newId();
    const id = newId();
    ids.push(id);
    await knex("agents").insert({
      id: agentId,
      role: "compute",
      hostname: `h${i}`,
      certificate_serial: "1",
      certificate_expires_at: new Date(Date.now() + 86_400_000),
      status: r() < 0.9 ? "connected" : pick(["disconnected", "offline", "enrolled"]),
    });
    const cpu = pick([4, 8, 16]);
    const mem = pick([8, 16, 32.5]);
    const storage = pick([100, 500]);
    const gpus = r() < 0.4 ? Math.floor(r() * 5) : 0;
    const gpuRows = Array.from({ length: gpus }, (_, gi) => {
      const status = r() < 0.7 ? "available" : pick(["allocated", "maintenance", "error"]);
      return {
        id: newId(),
        compute_machine_id: id,
        gpu_index: gi,
        model: r() < 0.8 ? MODELS[i % 2]! : pick(MODELS),
        pci_address: `0000:${gi}:00.0`,
        status,
        allocated_vm_id: status === "allocated" ? newId() : null,
      };
    });
    const exclusive = r() < 0.2;
    const busy = !exclusive || r() < 0.5;
    await knex("compute_machines").insert({
      id,
      hostname: `h${i}`,
      machine_type: gpus > 0 ? "gpu_server" : "cpu_server",
      cpu_cores: cpu,
      memory_gb: mem,
      storage_gb: storage,
      gpu_count: gpus,
      allocated_cpu_cores: busy ? Math.floor(r() * (cpu + 1)) : 0,
      allocated_memory_gb: busy ? Math.floor(r() * (mem * 2 + 1)) / 2 : 0,
      allocated_storage_gb: busy ? Math.floor(r() * (storage + 1)) : 0,
      allocated_gpu_count: gpuRows.filter((g) => g.status === "allocated").length,
      status: r() < 0.85 ? "active" : pick(["maintenance", "offline", "decommissioning"]),
      health_status: r() < 0.9 ? pick(["healthy", "warning", "unknown"]) : "critical",
      rental_mode: exclusive ? "exclusive" : "shared",
      resource_pool_id: pool.poolId,
      edge_data_center_id: pool.dataCenterId,
      agent_id: agentId,
      // Few distinct priorities and loads, so ties (broken by id) are common.
      priority: Math.floor(r() * 3),
      labels: JSON.stringify(r() < 0.5 ? { zone: pick(["a", "b"]), ssd: "true" } : { zone: "a" }),
      last_placed_at: r() < 0.3 ? null : new Date(Date.UTC(2026, 10, 30, 10, Math.floor(r() * 5))),
    });
    if (gpuRows.length > 0) await knex("compute_machine_gpus").insert(gpuRows);
  }
  return { poolId: pool.poolId, machineIds: ids };
}

function randomRequest(r: () => number, poolId: string, machineIds: string[]): PlacementRequest {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const gpuCount = r() < 0.4 ? 1 + Math.floor(r() * 3) : 0;
  return {
    instanceId: newId(),
    vmId: newId(),
    tenantId: newId(),
    computePoolId: poolId,
    rentalMode: r() < 0.2 ? "exclusive" : "shared",
    cpuCores: pick([1, 2, 4, 8]),
    memoryGb: pick([1, 2.5, 8, 16]),
    storageGb: pick([0, 20, 200]),
    gpuCount,
    gpuModel: gpuCount > 0 && r() < 0.6 ? pick([...MODELS, "H100"]) : null,
    requiredLabels:
      r() < 0.3 ? pick<Record<string, string>>([{ zone: "a" }, { zone: "b", ssd: "true" }, { ssd: "true" }]) : {},
    affinityMachineId: r() < 0.5 ? pick(machineIds) : null,
  };
}

function summary(d: PlacementDecision) {
  return {
    machine: d.chosen?.machine.id ?? null,
    gpus: d.chosen?.charge.gpus.map((g) => g.id) ?? [],
    charge: d.chosen ? { ...d.chosen.charge, gpus: undefined } : null,
    policy: d.policy,
    considered: d.considered,
    rejectedBy: Object.fromEntries(Object.entries(d.rejectedBy).filter(([, n]) => n! > 0)),
    reason: d.reason,
  };
}

describe("the candidate snapshot agrees with the pure function over every machine", function () {
  let t: TestDatabase;
  let knex: Knex;
  before(async () => {
    t = await createTestDatabase();
    knex = t.db.knex;
  });
  after(async () => t?.drop());

  for (const policy of SCHEDULING_POLICIES) {
    for (const strategy of ["first_fit", "least_loaded"] as const) {
      it(`${policy}, ${strategy}: 40 random requests on a random 40-machine pool`, async () => {
        const seed = SCHEDULING_POLICIES.indexOf(policy) * 2 + (strategy === "first_fit" ? 1 : 2);
        const r = rng(seed);
        const { poolId, machineIds } = await seedRandomFleet(knex, r, policy, strategy, 40);
        let placed = 0;
        let beyondLimit = 0;
        for (let i = 0; i < 40; i++) {
          const req = randomRequest(r, poolId, machineIds);
          const full = choosePlacement(await knex.transaction((trx) => readFullSnapshot(trx, poolId)), req);
          const fast = choosePlacement(await knex.transaction((trx) => readSnapshot(trx, req, LIMIT)), req);
          expect(summary(fast), `seed ${seed}, request ${i}: ${JSON.stringify(req)}`).to.deep.equal(summary(full));
          if (full.chosen) placed++;
          const fits = full.considered - Object.values(full.rejectedBy).reduce((a, b) => a + b!, 0);
          if (fits > LIMIT) beyondLimit++;
        }
        // The fleets are random but not hopeless: both answers occur.
        expect(placed).to.be.within(1, 39);
        // And some requests fit more machines than the query returns in full.
        expect(beyondLimit).to.be.greaterThan(0);
      });
    }
  }
});
