import type { Knex } from "knex";
import { affectedRows } from "./affected-rows.js";

export const HOUR_MS = 3_600_000;

/** The start of the UTC hour holding `at`. */
export function hourStartOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

export interface RollupResult {
  hostRows: number;
  gpuRows: number;
}

/**
 * Aggregates the raw samples of one hour into host_metrics_hourly and gpu_metrics_hourly.
 * Idempotent (an upsert recomputed from raw rows), so the current, still filling hour can be
 * rolled up on every pass and a pass that dies half way is simply run again.
 */
export async function rollupHour(knex: Knex, hourStart: Date, now: Date = new Date()): Promise<RollupResult> {
  const from = hourStartOf(hourStart);
  const to = new Date(from.getTime() + HOUR_MS);
  const host = await knex.raw(
    `INSERT INTO host_metrics_hourly AS h (agent_id, hour_start, machine_id, samples,
        cpu_percent_avg, cpu_percent_max, load1_avg, load1_max,
        memory_total_bytes, memory_available_bytes_avg, memory_available_bytes_min, disk_min_free_percent,
        net_rx_bytes_per_second_avg, net_rx_bytes_per_second_max, net_tx_bytes_per_second_avg, net_tx_bytes_per_second_max, rolled_up_at)
     SELECT r.agent_id, ?::timestamptz, (array_agg(r.machine_id ORDER BY r.sampled_at DESC))[1], count(*),
        avg(r.cpu_percent), max(r.cpu_percent), avg(r.load1), max(r.load1),
        max(r.memory_total_bytes), round(avg(r.memory_available_bytes))::bigint, min(r.memory_available_bytes), min(r.disk_min_free_percent),
        avg(r.net_rx_bytes_per_second), max(r.net_rx_bytes_per_second), avg(r.net_tx_bytes_per_second), max(r.net_tx_bytes_per_second), ?::timestamptz
       FROM host_metrics_raw r
      WHERE r.sampled_at >= ? AND r.sampled_at < ?
      GROUP BY r.agent_id
     ON CONFLICT (agent_id, hour_start) DO UPDATE SET
        machine_id = EXCLUDED.machine_id, samples = EXCLUDED.samples,
        cpu_percent_avg = EXCLUDED.cpu_percent_avg, cpu_percent_max = EXCLUDED.cpu_percent_max,
        load1_avg = EXCLUDED.load1_avg, load1_max = EXCLUDED.load1_max,
        memory_total_bytes = EXCLUDED.memory_total_bytes, memory_available_bytes_avg = EXCLUDED.memory_available_bytes_avg,
        memory_available_bytes_min = EXCLUDED.memory_available_bytes_min, disk_min_free_percent = EXCLUDED.disk_min_free_percent,
        net_rx_bytes_per_second_avg = EXCLUDED.net_rx_bytes_per_second_avg, net_rx_bytes_per_second_max = EXCLUDED.net_rx_bytes_per_second_max,
        net_tx_bytes_per_second_avg = EXCLUDED.net_tx_bytes_per_second_avg, net_tx_bytes_per_second_max = EXCLUDED.net_tx_bytes_per_second_max,
        rolled_up_at = EXCLUDED.rolled_up_at`,
    [from, now, from, to],
  );
  const gpu = await knex.raw(
    `INSERT INTO gpu_metrics_hourly AS h (agent_id, hour_start, gpu_index, gpu_uuid, samples, error_samples,
        utilization_percent_avg, utilization_percent_max, memory_used_mib_avg, memory_used_mib_max,
        temperature_celsius_avg, temperature_celsius_max, power_draw_watts_avg, power_draw_watts_max, rolled_up_at)
     SELECT g.agent_id, ?::timestamptz, g.gpu_index, max(g.gpu_uuid), count(*), count(*) FILTER (WHERE g.error),
        avg(g.utilization_percent), max(g.utilization_percent), round(avg(g.memory_used_mib))::bigint, max(g.memory_used_mib),
        avg(g.temperature_celsius), max(g.temperature_celsius), avg(g.power_draw_watts), max(g.power_draw_watts), ?::timestamptz
       FROM gpu_metrics_raw g
      WHERE g.sampled_at >= ? AND g.sampled_at < ?
      GROUP BY g.agent_id, g.gpu_index
     ON CONFLICT (agent_id, hour_start, gpu_index) DO UPDATE SET
        gpu_uuid = EXCLUDED.gpu_uuid, samples = EXCLUDED.samples, error_samples = EXCLUDED.error_samples,
        utilization_percent_avg = EXCLUDED.utilization_percent_avg, utilization_percent_max = EXCLUDED.utilization_percent_max,
        memory_used_mib_avg = EXCLUDED.memory_used_mib_avg, memory_used_mib_max = EXCLUDED.memory_used_mib_max,
        temperature_celsius_avg = EXCLUDED.temperature_celsius_avg, temperature_celsius_max = EXCLUDED.temperature_celsius_max,
        power_draw_watts_avg = EXCLUDED.power_draw_watts_avg, power_draw_watts_max = EXCLUDED.power_draw_watts_max,
        rolled_up_at = EXCLUDED.rolled_up_at`,
    [from, now, from, to],
  );
  return { hostRows: affectedRows(host), gpuRows: affectedRows(gpu) };
}
