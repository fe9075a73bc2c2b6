// bench/scheduler: placement latency with 100, 1 000 and 5 000 machines in the database (issue 10),
// on PGlite and on a scratch PostgreSQL database, plus the pure function alone on the same snapshot.
// Prints one JSON document on stdout, progress on stderr. See README.md.
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Knex } from "knex";
import { openDatabase, type Database } from "../../hub/db/database.js";
import { newId } from "../../hub/db/ids.js";
import { migrateToLatest } from "../../hub/db/migrate.js";
import { ResourceExhaustedError } from "../../hub/domain/errors.js";
import { choosePlacement } from "../../hub/scheduler/choose-placement.js";
import { placeInstance } from "../../hub/scheduler/place-instance.js";
import type { PlacementRequest } from "../../hub/scheduler/placement-request.js";
import { readSnapshot } from "../../hub/scheduler/candidate-query.js";
import { readFullSnapshot } from "../../hub/scheduler/snapshot-query.js";
import { seedMachines, seedPool, type MachineSeed } from "../../test/scheduler/fleet-seed.js";
import { createScratchDatabase } from "../fleet/scratch-postgres.js";
import { summarize } from "../fleet/percentiles.js";

const { values: flags } = parseArgs({
  options: {
    postgres: { type: "string" },
    sizes: { type: "string", default: "100,1000,5000" },
    placements: { type: "string", default: "300" },
    "pure-runs": { type: "string", default: "300" },
  },
});
const sizes = flags.sizes!.split(",").map(Number);
const placements = Number(flags.placements);
const pureRuns = Number(flags["pure-runs"]);
const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
const MIGRATIONS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");

/**
 * A fleet as an operator has it: most machines shared CPU servers at various loads, one in ten a
 * GPU server (8× A100), a few in maintenance, offline or with a disconnected agent, labels by rack.
 */
function machineMix(i: number): MachineSeed {
  const seed: MachineSeed = { cpuCores: 64, memoryGb: 256, storageGb: 4000, labels: { rack: `r${i % 40}` } };
  if (i % 10 === 0) seed.gpuInventory = "gpu-a100x8.csv";
  if (i % 50 === 1) seed.status = "maintenance";
  if (i % 50 === 2) seed.agentStatus = "disconnected";
  if (i % 97 === 3) seed.healthStatus = "critical";
  return seed;
}

/** What instances ask for: mostly small VMs, every fifth with a GPU, some pinned to a rack. */
function requestMix(i: number, poolId: string): PlacementRequest {
  return {
    instanceId: newId(),
    vmId: newId(),
    tenantId: newId(),
    computePoolId: poolId,
    rentalMode: "shared",
    cpuCores: 2 + (i % 4) * 2,
    memoryGb: 4 + (i % 3) * 4,
    storageGb: 40,
    gpuCount: i % 5 === 0 ? 1 : 0,
    gpuModel: i % 5 === 0 ? "NVIDIA A100-SXM4-80GB" : null,
    requiredLabels: i % 7 === 0 ? { rack: `r${i % 40}` } : {},
    affinityMachineId: null,
  };
}

async function openBackend(backend: "pglite" | "postgres"): Promise<{ db: Database; drop(): Promise<void> }> {
  if (backend === "pglite") {
    const db = await openDatabase({ databaseUrl: undefined, dataDir: "memory://" });
    await migrateToLatest(db, MIGRATIONS);
    return { db, drop: () => db.close() };
  }
  const scratch = await createScratchDatabase(flags.postgres!);
  const db = await openDatabase({ databaseUrl: scratch.url, dataDir: "memory://", poolMax: 4 });
  await migrateToLatest(db, MIGRATIONS);
  return {
    db,
    async drop() {
      await db.close();
      await scratch.drop();
    },
  };
}

async function measure(knex: Knex, machines: number) {
  const started = performance.now();
  const pool = await seedPool(knex, { name: "bench", schedulingPolicy: "load_balance" });
  await seedMachines(knex, pool, machines, machineMix);
  if ((knex.client as { config?: { client?: unknown } }).config?.client === "pg") await knex.raw("ANALYZE");
  const seedMs = Math.round(performance.now() - started);

  // Warm-up: plans cached, JIT warm, then the measured placements one after another.
  for (let i = 0; i < 10; i++) await placeInstance(knex, requestMix(i, pool.poolId), async () => undefined);
  const placeMs: number[] = [];
  let refused = 0;
  for (let i = 0; i < placements; i++) {
    const t0 = performance.now();
    try {
      await placeInstance(knex, requestMix(i, pool.poolId), async () => undefined);
    } catch (err) {
      if (!(err instanceof ResourceExhaustedError)) throw err;
      refused++;
    }
    placeMs.push(performance.now() - t0);
  }

  // The snapshot placement reads (candidates + counts) and, as the baseline, every machine in full.
  const snapshotMs: number[] = [];
  const fullSnapshotMs: number[] = [];
  for (let i = 0; i < 30; i++) {
    const req = requestMix(i, pool.poolId);
    let t0 = performance.now();
    await knex.transaction((trx) => readSnapshot(trx, req));
    snapshotMs.push(performance.now() - t0);
    t0 = performance.now();
    await knex.transaction((trx) => readFullSnapshot(trx, pool.poolId));
    fullSnapshotMs.push(performance.now() - t0);
  }
  // The pure function alone, over the full snapshot (every machine judged in process).
  const full = await knex.transaction((trx) => readFullSnapshot(trx, pool.poolId));
  const pureMs: number[] = [];
  for (let i = 0; i < pureRuns; i++) {
    const req = requestMix(i, pool.poolId);
    const t0 = performance.now();
    choosePlacement(full, req);
    pureMs.push(performance.now() - t0);
  }
  return {
    machines,
    seedMs,
    refused,
    placeInstanceMs: summarize(placeMs),
    candidateSnapshotMs: summarize(snapshotMs),
    fullSnapshotMs: summarize(fullSnapshotMs),
    choosePlacementFullSnapshotMs: summarize(pureMs),
  };
}

const backends: ("pglite" | "postgres")[] = flags.postgres ? ["pglite", "postgres"] : ["pglite"];
const results: Record<string, unknown[]> = {};
for (const backend of backends) {
  results[backend] = [];
  for (const n of sizes) {
    log(`${backend}: seeding ${n} machines`);
    const { db, drop } = await openBackend(backend);
    try {
      const r = await measure(db.knex, n);
      log(`${backend} ${n}: placeInstance p50 ${r.placeInstanceMs.p50} ms p99 ${r.placeInstanceMs.p99} ms`);
      results[backend]!.push(r);
    } finally {
      await drop();
    }
  }
}
process.stdout.write(
  `${JSON.stringify(
    {
      bench: "scheduler",
      at: new Date().toISOString(),
      host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      placementsPerSize: placements,
      results,
    },
    null,
    2,
  )}\n`,
);
