import type { Knex } from "knex";
import type { HostMetricsSample } from "../../lib/host-facts/host-facts.js";
import { newId } from "../db/ids.js";
import { evaluateHealth, type HealthEvaluation, type HealthStatus } from "./evaluate-health.js";

export interface RecordMetricsInput {
  agentId: string;
  /** The compute machine the agent reports for, when the caller knows it; stored with the sample. */
  machineId?: string;
  sample: HostMetricsSample;
  /** When the hub received the sample (the hub's clock). */
  at: Date;
}

export interface RecordMetricsResult {
  /** False when this sample was already stored (an agent re-sending after a reconnect). */
  stored: boolean;
  health: HealthEvaluation;
  previousStatus: HealthStatus | "unknown";
  /** True when the status changed and a `health_changed` fleet event was written. */
  changed: boolean;
}

const SEVERITY: Record<HealthStatus, "info" | "warning" | "critical"> = {
  healthy: "info",
  warning: "warning",
  critical: "critical",
};

/**
 * Stores one metrics sample and re-judges the agent's health, in one transaction: the raw host
 * and GPU rows, agent_health when the status or reasons change, the compute machine's
 * health_status and a fleet event when the status changes. Unchanged health writes nothing but
 * the sample, so a steady fleet costs one insert per sample.
 */
export async function recordMetrics(knex: Knex, input: RecordMetricsInput): Promise<RecordMetricsResult> {
  const { agentId, sample, at } = input;
  const health = evaluateHealth(sample);
  return knex.transaction(async (trx) => {
    const inserted = await trx("host_metrics_raw")
      .insert(hostRow(input))
      .onConflict(["agent_id", "sampled_at"])
      .ignore()
      .returning("agent_id");
    if (inserted.length === 0) return { stored: false, health, previousStatus: "unknown" as const, changed: false };
    if (sample.gpus.length > 0) {
      await trx("gpu_metrics_raw")
        .insert(
          sample.gpus.map((g) => ({
            agent_id: agentId,
            sampled_at: sample.sampledAt,
            gpu_index: g.index,
            gpu_uuid: g.uuid,
            utilization_percent: g.utilizationPercent ?? null,
            memory_used_mib: g.memoryUsedMib ?? null,
            memory_total_mib: g.memoryTotalMib ?? null,
            temperature_celsius: g.temperatureCelsius ?? null,
            power_draw_watts: g.powerDrawWatts ?? null,
            error: g.error,
          })),
        )
        .onConflict(["agent_id", "sampled_at", "gpu_index"])
        .ignore();
    }
    if (sample.domains && sample.domains.length > 0) {
      await trx("domain_metrics_raw")
        .insert(
          sample.domains.map((d) => ({
            agent_id: agentId,
            sampled_at: sample.sampledAt,
            domain_uuid: d.uuid,
            domain_name: d.name,
            state: d.state,
            cpu_time_ns: d.cpuTimeNs,
            vcpus: d.vcpus,
            memory_max_kib: d.memoryMaxKib,
            memory_used_kib: d.memoryUsedKib,
            disk_read_bytes: d.diskReadBytes,
            disk_write_bytes: d.diskWriteBytes,
            net_rx_bytes: d.netRxBytes,
            net_tx_bytes: d.netTxBytes,
          })),
        )
        .onConflict(["agent_id", "sampled_at", "domain_uuid"])
        .ignore();
    }

    const reasons = JSON.stringify(health.reasons);
    const created = await trx("agent_health")
      .insert({
        agent_id: agentId,
        status: health.status,
        reasons,
        sampled_at: sample.sampledAt,
        changed_at: at,
        updated_at: at,
      })
      .onConflict("agent_id")
      .ignore()
      .returning("agent_id");
    let previousStatus: HealthStatus | "unknown" = "unknown";
    let statusChanged = true;
    if (created.length === 0) {
      const prev = await trx("agent_health")
        .where("agent_id", agentId)
        .forUpdate()
        .first<{ status: HealthStatus; reasons: string[]; sampled_at: Date }>("status", "reasons", "sampled_at");
      previousStatus = prev!.status;
      // A late sample (older than the one health was judged on) is stored but does not judge.
      if (prev!.sampled_at.getTime() > sample.sampledAt.getTime())
        return { stored: true, health, previousStatus, changed: false };
      statusChanged = prev!.status !== health.status;
      if (statusChanged || JSON.stringify(prev!.reasons) !== reasons) {
        await trx("agent_health")
          .where("agent_id", agentId)
          .update({
            status: health.status,
            reasons,
            sampled_at: sample.sampledAt,
            updated_at: at,
            ...(statusChanged ? { changed_at: at } : {}),
          });
      }
    }

    // Level-triggered: the machine row (found by its agent, so callers need not know its id)
    // converges to the judged status even if it was created after the agent's health; it is
    // written only when it differs, so a steady fleet pays one index lookup here.
    const machines = await trx("compute_machines")
      .where({ agent_id: agentId })
      .whereNull("deleted_at")
      .whereNot("health_status", health.status)
      .update({ health_status: health.status, updated_at: at })
      .returning<{ id: string }[]>("id");
    if (!statusChanged) return { stored: true, health, previousStatus, changed: false };
    await trx("fleet_events").insert({
      id: newId(),
      occurred_at: at,
      kind: "health_changed",
      severity: SEVERITY[health.status],
      agent_id: agentId,
      machine_id: input.machineId ?? machines[0]?.id ?? null,
      message: `Health changed from ${previousStatus} to ${health.status}${health.reasons.length ? `: ${health.reasons.join("; ")}` : ""}`,
      details: JSON.stringify({
        from: previousStatus,
        to: health.status,
        reasons: health.reasons,
        sampledAt: sample.sampledAt.toISOString(),
      }),
    });
    return { stored: true, health, previousStatus, changed: true };
  });
}

function hostRow({ agentId, machineId, sample, at }: RecordMetricsInput): Record<string, unknown> {
  let total = 0;
  let used = 0;
  let minFree: number | null = null;
  for (const d of sample.disks) {
    total += d.totalBytes;
    used += d.usedBytes;
    if (d.totalBytes > 0) {
      const free = (100 * (d.totalBytes - d.usedBytes)) / d.totalBytes;
      minFree = minFree === null ? free : Math.min(minFree, free);
    }
  }
  return {
    agent_id: agentId,
    sampled_at: sample.sampledAt,
    machine_id: machineId ?? null,
    received_at: at,
    cpu_percent: sample.cpuUtilizationPercent,
    load1: sample.load1,
    load5: sample.load5,
    load15: sample.load15,
    memory_total_bytes: sample.memoryTotalBytes,
    memory_available_bytes: sample.memoryAvailableBytes,
    disk_total_bytes: total,
    disk_used_bytes: used,
    disk_min_free_percent: minFree,
    disks: JSON.stringify(sample.disks),
    net_rx_bytes_per_second: sample.networkRxBytesPerSecond,
    net_tx_bytes_per_second: sample.networkTxBytesPerSecond,
    gpu_count: sample.gpus.length,
    gpu_error_count: sample.gpus.filter((g) => g.error).length,
  };
}
