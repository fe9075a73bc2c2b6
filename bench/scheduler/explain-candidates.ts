// bench/scheduler: the candidate snapshot query under EXPLAIN ANALYZE on PostgreSQL with 5 000
// machines: the server's own execution time, which a loaded client machine does not inflate as
// much as end-to-end latency. Prints JSON on stdout. See README.md.
import { parseArgs } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../../hub/db/database.js";
import { newId } from "../../hub/db/ids.js";
import { migrateToLatest } from "../../hub/db/migrate.js";
import { readSnapshot } from "../../hub/scheduler/candidate-query.js";
import type { PlacementRequest } from "../../hub/scheduler/placement-request.js";
import { seedMachines, seedPool } from "../../test/scheduler/fleet-seed.js";
import { createScratchDatabase } from "../fleet/scratch-postgres.js";
import { summarize } from "../fleet/percentiles.js";

const { values: flags } = parseArgs({
  options: {
    postgres: { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
    machines: { type: "string", default: "5000" },
    runs: { type: "string", default: "20" },
  },
});
const MIGRATIONS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");
const scratch = await createScratchDatabase(flags.postgres!);
const db = await openDatabase({ databaseUrl: scratch.url, dataDir: "memory://" });
try {
  await migrateToLatest(db, MIGRATIONS);
  const knex = db.knex;
  const pool = await seedPool(knex);
  await seedMachines(knex, pool, Number(flags.machines), (i) => ({
    cpuCores: 64,
    memoryGb: 256,
    storageGb: 4000,
    ...(i % 10 === 0 ? { gpuInventory: "gpu-a100x8.csv" } : {}),
  }));
  await knex.raw("ANALYZE");
  let captured: { sql: string; bindings: readonly unknown[] } | undefined;
  knex.on("query", (q: { sql: string; bindings: readonly unknown[] }) => {
    if (q.sql.includes("classified")) captured = q;
  });
  const request = (gpus: number): PlacementRequest => ({
    instanceId: newId(),
    vmId: newId(),
    tenantId: newId(),
    computePoolId: pool.poolId,
    rentalMode: "shared",
    cpuCores: 2,
    memoryGb: 4,
    storageGb: 40,
    gpuCount: gpus,
    gpuModel: gpus > 0 ? "NVIDIA A100-SXM4-80GB" : null,
    requiredLabels: {},
    affinityMachineId: null,
  });
  const out: Record<string, unknown> = {};
  for (const [name, gpus] of [
    ["cpuOnly", 0],
    ["oneGpu", 1],
  ] as const) {
    const ms: number[] = [];
    for (let i = 0; i < Number(flags.runs); i++) {
      await knex.transaction((trx) => readSnapshot(trx, request(gpus)));
      // As readSnapshot runs it: in a transaction with JIT off.
      type Plan = { rows: { "QUERY PLAN": { "Execution Time": number }[] }[] };
      const plan = await knex.transaction(async (trx): Promise<Plan> => {
        await trx.raw("SET LOCAL jit = off");
        return trx.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${captured!.sql.replace(/\$\d+/g, "?")}`, [
          ...captured!.bindings,
        ] as never);
      });
      ms.push(plan.rows[0]!["QUERY PLAN"][0]!["Execution Time"]);
    }
    out[name] = summarize(ms);
  }
  process.stdout.write(`${JSON.stringify({ machines: Number(flags.machines), serverExecutionMs: out }, null, 2)}\n`);
} finally {
  await db.close();
  await scratch.drop();
}
