import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Knex } from "knex";
import type { GpuFacts, HostInventory } from "../../lib/host-facts/host-facts.js";
import { gpuFactsOf, parseNvidiaSmiCsv } from "../../lib/host-facts/parse-nvidia-smi-csv.js";
import { newId } from "../../hub/db/ids.js";
import { registerComputeMachines } from "../../hub/infrastructure/compute-machine-registry.js";

const GIB = 1024 ** 3;
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

/** A recorded nvidia-smi inventory, as the agent turns it into GpuFacts. */
export function recordedGpus(file: string): GpuFacts[] {
  return parseNvidiaSmiCsv(fs.readFileSync(path.join(FIXTURES, file), "utf8")).map(gpuFactsOf);
}

export function inventory(
  hostname: string,
  hw: { threads?: number; memoryGb?: number; diskGb?: number; gpus?: GpuFacts[] } = {},
): HostInventory {
  return {
    hostname,
    cpu: { model: "Test CPU", cores: (hw.threads ?? 32) / 2, threads: hw.threads ?? 32 },
    memoryTotalBytes: (hw.memoryGb ?? 128) * GIB,
    disks: [{ name: "nvme0n1", sizeBytes: (hw.diskGb ?? 1000) * GIB, type: "nvme" }],
    nics: [],
    os: { platform: "linux", distro: "Debian", release: "12", kernel: "6.1", arch: "x64" },
    hypervisorType: "kvm",
    gpus: hw.gpus ?? [],
  };
}

export interface Site {
  dataCenterId: string;
  poolId: string;
}

export async function seedSite(knex: Knex, name = newId()): Promise<Site> {
  const site = { dataCenterId: newId(), poolId: newId() };
  await knex("edge_data_centers").insert({ id: site.dataCenterId, name: `dc-${name}` });
  await knex("compute_pools").insert({
    id: site.poolId,
    name: `pool-${name}`,
    edge_data_center_id: site.dataCenterId,
  });
  return site;
}

/** What a batch of compute agents' Hellos do to compute_machines; returns the statements it took. */
export async function hello(
  knex: Knex,
  site: Site,
  agents: readonly { agentId: string; inventory: HostInventory }[],
  now = new Date(),
): Promise<number> {
  let statements = 0;
  const count = () => statements++;
  knex.on("query", count);
  try {
    await knex.transaction((trx) =>
      registerComputeMachines(
        trx,
        agents.map((a) => ({
          grant: {
            agentId: a.agentId,
            edgeDataCenterId: site.dataCenterId,
            computePoolId: site.poolId,
            machineType: null,
          },
          inventory: a.inventory,
        })),
        now,
      ),
    );
  } finally {
    knex.off("query", count);
  }
  return statements;
}

export async function machineOf(knex: Knex, agentId: string): Promise<Record<string, unknown>> {
  return knex("compute_machines").where({ agent_id: agentId }).first();
}

export async function gpusOf(knex: Knex, machineId: string): Promise<Record<string, unknown>[]> {
  return knex("compute_machine_gpus").where({ compute_machine_id: machineId }).orderBy("gpu_index");
}
