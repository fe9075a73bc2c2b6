import type { Knex } from "knex";
import { affectedRows } from "./affected-rows.js";

const DAY_MS = 86_400_000;

/** Spec 004 §4.1: 7 days of detail, 90 days of aggregates. */
export const METRICS_RETENTION = Object.freeze({ rawMs: 7 * DAY_MS, hourlyMs: 90 * DAY_MS });

export interface PurgeResult {
  raw: number;
  hourly: number;
}

const TABLES = [
  { table: "host_metrics_raw", column: "sampled_at", kind: "raw" },
  { table: "gpu_metrics_raw", column: "sampled_at", kind: "raw" },
  { table: "domain_metrics_raw", column: "sampled_at", kind: "raw" },
  { table: "host_metrics_hourly", column: "hour_start", kind: "hourly" },
  { table: "gpu_metrics_hourly", column: "hour_start", kind: "hourly" },
] as const;

/**
 * Deletes metrics older than their retention, in bounded batches so one pass never holds locks on
 * millions of rows (the loop runs often, so a batch is normally all there is). At fleet scale daily
 * partitions dropped whole would be cheaper; plain deletes keep PGlite and PostgreSQL on one schema.
 */
export async function purgeExpiredMetrics(
  knex: Knex,
  now: Date,
  retention = METRICS_RETENTION,
  batchSize = 10_000,
): Promise<PurgeResult> {
  const result: PurgeResult = { raw: 0, hourly: 0 };
  for (const { table, column, kind } of TABLES) {
    const cutoff = new Date(now.getTime() - (kind === "raw" ? retention.rawMs : retention.hourlyMs));
    for (;;) {
      const deleted = affectedRows(
        await knex.raw(`DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${column} < ? LIMIT ?)`, [
          cutoff,
          batchSize,
        ]),
      );
      result[kind] += deleted;
      if (deleted < batchSize) break;
    }
  }
  return result;
}
