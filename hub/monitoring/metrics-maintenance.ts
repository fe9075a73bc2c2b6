import type { Knex } from "knex";
import { pino, type Logger } from "pino";
import { withLease } from "../background/lease.js";
import { leasedTask } from "../background/leased-task.js";
import { ADVISORY_LOCK_KEYS } from "../db/advisory-lock-keys.js";
import type { Clock } from "../../lib/clock/clock.js";
import type { Database } from "../db/database.js";
import { METRICS_RETENTION, purgeExpiredMetrics, type PurgeResult } from "./purge-expired-metrics.js";
import { HOUR_MS, hourStartOf, rollupHour } from "./rollup-hour.js";

export interface MaintenancePass {
  /** False when another hub held the lease; it does the work. */
  ran: boolean;
  hoursRolledUp: number;
  hostRows: number;
  gpuRows: number;
  purged: PurgeResult;
}

const NO_PASS: MaintenancePass = Object.freeze({
  ran: false,
  hoursRolledUp: 0,
  hostRows: 0,
  gpuRows: 0,
  purged: Object.freeze({ raw: 0, hourly: 0 }),
});

/**
 * One maintenance pass under the metrics lease: roll up every hour from the last rolled-up one
 * (re-done, it may have been partial) to the current one, then purge what retention lets go. The
 * lease ends with the transaction, so a hub that dies mid-pass frees it at once. PGlite is one
 * process, so there the lease is always granted.
 */
export async function runMetricsMaintenance(
  knex: Knex,
  now: Date,
  retention = METRICS_RETENTION,
): Promise<MaintenancePass> {
  const outcome = await withLease(knex, ADVISORY_LOCK_KEYS.metricsMaintenance, (trx) =>
    maintainMetrics(trx, now, retention),
  );
  return outcome.ran ? outcome.value : NO_PASS;
}

async function maintainMetrics(
  trx: Knex.Transaction,
  now: Date,
  retention: typeof METRICS_RETENTION,
): Promise<MaintenancePass> {
  const pass: MaintenancePass = { ...NO_PASS, ran: true };
  const current = hourStartOf(now);
  // Hours after `now` come from agents with clocks ahead; ignoring them keeps the catch-up anchored.
  const last = await trx("host_metrics_hourly")
    .where("hour_start", "<=", current)
    .max<{ h: Date | null }>({ h: "hour_start" })
    .first();
  const first = last?.h ? null : await trx("host_metrics_raw").min<{ s: Date | null }>({ s: "sampled_at" }).first();
  const anchor = last?.h ?? first?.s;
  if (anchor) {
    const oldest = hourStartOf(new Date(now.getTime() - retention.rawMs));
    let hour = Math.max(hourStartOf(new Date(anchor)).getTime(), oldest.getTime());
    for (; hour <= current.getTime(); hour += HOUR_MS) {
      const r = await rollupHour(trx, new Date(hour), now);
      pass.hoursRolledUp++;
      pass.hostRows += r.hostRows;
      pass.gpuRows += r.gpuRows;
    }
  }
  pass.purged = await purgeExpiredMetrics(trx, now, retention);
  return pass;
}

export interface MetricsMaintenanceDeps {
  db: Pick<Database, "knex">;
  clock: Clock;
  /** Time between passes, and before the first: a hub's first seconds belong to reconnecting agents. One minute is plenty for hourly rollups. */
  intervalMs?: number;
  log?: Logger;
  retention?: typeof METRICS_RETENTION;
  /** Called after each pass (tests, metrics). */
  onPass?: (pass: MaintenancePass) => void;
}

export interface MetricsMaintenance {
  /** Stops the timer and waits for a pass in flight; safe to call twice. */
  stop(): Promise<void>;
}

/** The periodic loop every hub runs; the lease makes N hubs share one pass at a time. */
export function startMetricsMaintenance(deps: MetricsMaintenanceDeps): MetricsMaintenance {
  const task = leasedTask({
    name: "metrics-maintenance",
    intervalMs: deps.intervalMs ?? 60_000,
    knex: deps.db.knex,
    lockKey: ADVISORY_LOCK_KEYS.metricsMaintenance,
    log: deps.log ?? pino({ level: "silent" }),
    run: (trx) => maintainMetrics(trx, deps.clock.now(), deps.retention ?? METRICS_RETENTION),
    onPass: (outcome) => deps.onPass?.(outcome.ran ? outcome.value : NO_PASS),
  });
  task.start();
  return { stop: () => task.stop() };
}
