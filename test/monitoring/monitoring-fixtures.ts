import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import type { HostMetricsSample } from "../../lib/host-facts/host-facts.js";

/** An enrolled agent row (and, for compute agents, its machine) for monitoring tests. */
export async function insertAgent(
  knex: Knex,
  options: { withMachine: boolean },
): Promise<{ agentId: string; machineId?: string }> {
  const agentId = newId();
  await knex("agents").insert({
    id: agentId,
    role: "compute",
    hostname: `host-${agentId.slice(-6)}`,
    certificate_serial: agentId.replace(/-/g, ""),
    certificate_expires_at: new Date("2027-11-22T00:00:00Z"),
  });
  if (!options.withMachine) return { agentId };
  const dc = newId();
  const pool = newId();
  const machineId = newId();
  await knex("edge_data_centers").insert({ id: dc, name: `dc-${dc}` });
  await knex("compute_pools").insert({ id: pool, name: `pool-${pool}` });
  await knex("compute_machines").insert({
    id: machineId,
    hostname: `host-${agentId.slice(-6)}`,
    machine_type: "gpu_server",
    resource_pool_id: pool,
    edge_data_center_id: dc,
    agent_id: agentId,
  });
  return { agentId, machineId };
}

const GiB = 1024 ** 3;

/** A healthy GPU server sample; override what the test is about. */
export function sampleAt(sampledAt: Date, overrides: Partial<HostMetricsSample> = {}): HostMetricsSample {
  return {
    sampledAt,
    cpuUtilizationPercent: 40,
    load1: 8,
    load5: 7,
    load15: 6,
    memoryTotalBytes: 512 * GiB,
    memoryAvailableBytes: 256 * GiB,
    disks: [
      { mount: "/", usedBytes: 50 * GiB, totalBytes: 200 * GiB },
      { mount: "/var/lib/libvirt", usedBytes: 1000 * GiB, totalBytes: 4000 * GiB },
    ],
    networkRxBytesPerSecond: 1e6,
    networkTxBytesPerSecond: 2e6,
    gpus: [
      {
        index: 0,
        uuid: "GPU-a",
        utilizationPercent: 90,
        memoryUsedMib: 40000,
        memoryTotalMib: 81920,
        temperatureCelsius: 70,
        powerDrawWatts: 300,
        error: false,
      },
      {
        index: 1,
        uuid: "GPU-b",
        utilizationPercent: 10,
        memoryUsedMib: 1000,
        memoryTotalMib: 81920,
        temperatureCelsius: 40,
        powerDrawWatts: 60,
        error: false,
      },
    ],
    ...overrides,
  };
}
