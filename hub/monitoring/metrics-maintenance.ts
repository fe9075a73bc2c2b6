import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import type { Database } from "../db/database.js";
import { METRICS_RETENTION, purgeExpiredMetrics, type PurgeResult } from "./purge-expired-metrics.js";
import { HOUR_MS, hourStartOf, rollupHour } from "./rollup-hour.js";

/** Advisory lock key of the maintenance lease ("edmm"): one hub of N does a pass at a time. */
export const METRICS_MAINTENANCE_LOCK_KEY = 0x65646d6d;

export interface MaintenancePass {
  /** False when another hub held the lease; it does the work. */
  ran: boolean;
  hoursRolledUp: number;
  hostRows: number;
  gpuRows: number;
  purged: PurgeResult;
}

/**
 * One maintenance pass inside a transaction that holds pg_try_advisory_xact_lock: roll up every
 * hour from the last rolled-up one (re-done, it may have been partial) to the current one, then
 * purge what retention lets go. The lock ends with the transaction, so a hub that dies mid-pass
 * frees the lease at once. PGlite is one process, so there the lock is always granted.
 */
export async function runMetricsMaintenance(knex: Knex, now: Date, retention = METRICS_RETENTION): Promise<MaintenancePass> {
  return knex.transaction(async (trx) => {
    const lease = await trx.raw<{ rows: { locked: boolean }[] }>("SELECT pg_try_advisory_xact_lock(?) AS locked", [METRICS_MAINTENANCE_LOCK_KEY]);
    const none: MaintenancePass = { ran: false, hoursRolledUp: 0, hostRows: 0, gpuRows: 0, purged: { raw: 0, hourly: 0 } };
    if (!lease.rows[0]?.locked) return none;
    const pass: MaintenancePass = { ...none, ran: true };
    const current = hourStartOf(now);
    // Hours after `now` come from agents with clocks ahead; ignoring them keeps the catch-up anchored.
    const last = await trx("host_metrics_hourly").where("hour_start", "<=", current).max<{ h: Date | null }>({ h: "hour_start" }).first();
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
  });
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
  const intervalMs = deps.intervalMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;

  const tick = () => {
    timer = undefined;
    inFlight = runMetricsMaintenance(deps.db.knex, deps.clock.now(), deps.retention)
      .then((pass) => deps.onPass?.(pass))
      // A failed pass heals on the next one (everything it does is idempotent): WARN, not ERROR.
      .catch((err: unknown) => deps.log?.warn({ err }, "Metrics maintenance pass failed; retrying next interval"))
      .finally(() => {
        inFlight = undefined;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
