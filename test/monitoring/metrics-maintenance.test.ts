import { expect } from "chai";
import type { Knex } from "knex";
import pg from "pg";
import { ManualClock } from "../../lib/clock/clock.js";
import { ADVISORY_LOCK_KEYS } from "../../hub/db/advisory-lock-keys.js";
import {
  runMetricsMaintenance,
  startMetricsMaintenance,
  type MaintenancePass,
} from "../../hub/monitoring/metrics-maintenance.js";
import { purgeExpiredMetrics } from "../../hub/monitoring/purge-expired-metrics.js";
import { recordMetrics } from "../../hub/monitoring/record-metrics.js";
import { hourStartOf, rollupHour } from "../../hub/monitoring/rollup-hour.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { insertAgent, sampleAt } from "./monitoring-fixtures.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const h0 = new Date("2026-11-22T08:00:00Z");
const plus = (ms: number) => new Date(h0.getTime() + ms);

describe("metrics rollup, retention and maintenance", function () {
  let tdb: TestDatabase;
  let knex: Knex;

  before(async () => {
    tdb = await createTestDatabase();
    knex = tdb.db.knex;
  });
  after(async () => tdb?.drop());
  // Each test starts from empty metrics tables; agents stay (they are keyed by fresh ids).
  beforeEach(async () => {
    for (const table of ["host_metrics_raw", "gpu_metrics_raw", "host_metrics_hourly", "gpu_metrics_hourly"])
      await knex(table).delete();
  });

  const record = (agentId: string, at: Date, cpu: number, gpuTemp: number) =>
    recordMetrics(knex, {
      agentId,
      sample: sampleAt(at, {
        cpuUtilizationPercent: cpu,
        memoryAvailableBytes: cpu * 1e9,
        gpus: [
          {
            index: 0,
            uuid: "GPU-a",
            utilizationPercent: cpu,
            memoryUsedMib: 1000,
            temperatureCelsius: gpuTemp,
            powerDrawWatts: 100,
            error: gpuTemp > 90,
          },
        ],
      }),
      at,
    });

  it("aggregates an hour per agent and per GPU: avg, max, min, sample counts", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: true });
    await record(agentId, plus(0), 10, 50);
    await record(agentId, plus(30_000), 30, 70);
    await record(agentId, plus(HOUR - 1), 50, 91);
    await record(agentId, plus(HOUR), 99, 99); // next hour: not in this rollup
    const res = await rollupHour(knex, plus(25 * 60_000), plus(2 * HOUR));
    expect(res).to.deep.equal({ hostRows: 1, gpuRows: 1 });
    const host = await knex("host_metrics_hourly").where({ agent_id: agentId }).first();
    expect(host.hour_start).to.deep.equal(h0);
    expect(host).to.include({
      samples: 3,
      cpu_percent_avg: 30,
      cpu_percent_max: 50,
      memory_available_bytes_min: 10e9,
      memory_available_bytes_avg: 30e9,
    });
    const gpu = await knex("gpu_metrics_hourly").where({ agent_id: agentId }).first();
    expect(gpu).to.include({
      gpu_index: 0,
      samples: 3,
      error_samples: 1,
      temperature_celsius_max: 91,
      utilization_percent_avg: 30,
      memory_used_mib_max: 1000,
    });
  });

  it("is idempotent and picks up samples that arrived since the last run", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: false });
    await record(agentId, plus(0), 10, 50);
    await rollupHour(knex, h0);
    await rollupHour(knex, h0);
    await record(agentId, plus(60_000), 20, 50);
    await rollupHour(knex, h0);
    const rows = await knex("host_metrics_hourly").where({ agent_id: agentId }).select("samples", "cpu_percent_max");
    expect(rows).to.deep.equal([{ samples: 2, cpu_percent_max: 20 }]);
  });

  it("purges raw samples after 7 days and hourly rows after 90 days, nothing younger", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: false });
    const now = plus(100 * DAY);
    await record(agentId, new Date(now.getTime() - 7 * DAY - 1000), 10, 50);
    await record(agentId, new Date(now.getTime() - 7 * DAY + 1000), 10, 50);
    await record(agentId, new Date(now.getTime() - 91 * DAY), 10, 50);
    await rollupHour(knex, new Date(now.getTime() - 91 * DAY));
    await record(agentId, new Date(now.getTime() - 89 * DAY), 10, 50);
    await rollupHour(knex, new Date(now.getTime() - 89 * DAY));
    const purged = await purgeExpiredMetrics(knex, now, undefined, 1); // batch of 1: the loop must drain
    // Raw: host + GPU rows of the samples 7 days + 1 s, 89 and 91 days old. Hourly: host + GPU of the 91-day hour.
    expect(purged).to.deep.equal({ raw: 6, hourly: 2 });
    expect(
      await knex("host_metrics_raw").where({ agent_id: agentId }).count<{ n: number }[]>({ n: "*" }),
    ).to.deep.equal([{ n: 1 }]);
    expect(
      await knex("host_metrics_hourly").where({ agent_id: agentId }).count<{ n: number }[]>({ n: "*" }),
    ).to.deep.equal([{ n: 1 }]);
  });

  it("catches up every hour since the last rollup, ignoring hours an agent clock put in the future", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: false });
    for (let h = 0; h < 5; h++) await record(agentId, plus(h * HOUR + 60_000), 10 * (h + 1), 50);
    await record(agentId, plus(30 * DAY), 99, 50); // clock a month ahead
    const now = plus(4 * HOUR + 120_000);
    const pass = await runMetricsMaintenance(knex, now);
    expect(pass).to.deep.include({ ran: true, hoursRolledUp: 5, hostRows: 5 });
    const hours = await knex("host_metrics_hourly")
      .where({ agent_id: agentId })
      .orderBy("hour_start")
      .select("hour_start", "cpu_percent_max");
    expect(hours.map((r) => [r.hour_start.getTime() - h0.getTime(), r.cpu_percent_max])).to.deep.equal(
      [0, 1, 2, 3, 4].map((h) => [h * HOUR, 10 * (h + 1)]),
    );
    // Next pass starts at the last (possibly partial) hour, not from the beginning.
    const again = await runMetricsMaintenance(knex, plus(5 * HOUR + 1));
    expect(again.hoursRolledUp).to.equal(2);
    expect(hourStartOf(plus(5 * HOUR + 1))).to.deep.equal(plus(5 * HOUR));
  });

  it("skips the pass while another hub holds the lease (PostgreSQL)", async function () {
    if (tdb.backend !== "postgres") this.skip(); // PGlite is one process: the lease is always ours
    const other = new pg.Client({ connectionString: tdb.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query("SELECT pg_advisory_xact_lock($1)", [ADVISORY_LOCK_KEYS.metricsMaintenance]);
      expect((await runMetricsMaintenance(knex, plus(HOUR))).ran).to.equal(false);
      await other.query("COMMIT");
      expect((await runMetricsMaintenance(knex, plus(HOUR))).ran).to.equal(true);
    } finally {
      await other.end();
    }
  });

  it("runs passes on its own until stopped", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: false });
    await record(agentId, plus(60_000), 42, 50);
    const passes: MaintenancePass[] = [];
    let sawTwo!: () => void;
    const twoPasses = new Promise<void>((resolve) => (sawTwo = resolve));
    const loop = startMetricsMaintenance({
      db: tdb.db,
      clock: new ManualClock(plus(120_000)),
      intervalMs: 10,
      onPass: (p) => {
        passes.push(p);
        if (passes.length === 2) sawTwo();
      },
    });
    await twoPasses;
    await loop.stop();
    await loop.stop();
    const count = passes.length;
    expect(passes[0]).to.deep.include({ ran: true, hostRows: 1 });
    expect((await knex("host_metrics_hourly").where({ agent_id: agentId }).first()).cpu_percent_max).to.equal(42);
    // Stopped means stopped: no pass after stop() resolved.
    await new Promise((r) => setTimeout(r, 50));
    expect(passes.length).to.equal(count);
  });
});
