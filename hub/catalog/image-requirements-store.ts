import type { Knex } from "knex";
import { HYPERVISOR } from "./catalog-enums.js";
import { NO_REQUIREMENTS, type ImageRequirements } from "./image-requirements.js";

interface RequirementsRow {
  min_cpu_cores: number;
  min_memory_gb: number;
  min_storage_gb: number;
  recommended_cpu_cores: number;
  recommended_memory_gb: number;
  recommended_storage_gb: number;
  hypervisor_compatibility: string[] | string;
}

/** The requirements of an image; an image without a row has none (all zero). */
export async function getImageRequirements(knex: Knex, imageId: string): Promise<ImageRequirements> {
  const r = (await knex("image_requirements").where({ image_id: imageId }).first()) as RequirementsRow | undefined;
  if (!r) return { ...NO_REQUIREMENTS, hypervisorCompatibility: [] };
  const hv =
    typeof r.hypervisor_compatibility === "string"
      ? (JSON.parse(r.hypervisor_compatibility) as string[])
      : r.hypervisor_compatibility;
  return {
    minCpuCores: r.min_cpu_cores,
    minMemoryGb: r.min_memory_gb,
    minStorageGb: r.min_storage_gb,
    recommendedCpuCores: r.recommended_cpu_cores,
    recommendedMemoryGb: r.recommended_memory_gb,
    recommendedStorageGb: r.recommended_storage_gb,
    // The jsonb array has no CHECK; a name the enum does not know (written before it existed) is dropped.
    hypervisorCompatibility: hv.filter(HYPERVISOR.isDbValue),
  };
}

export async function upsertImageRequirements(
  trx: Knex,
  imageId: string,
  req: ImageRequirements,
  actorId: string,
  now: Date,
): Promise<void> {
  const row = {
    min_cpu_cores: req.minCpuCores,
    min_memory_gb: req.minMemoryGb,
    min_storage_gb: req.minStorageGb,
    recommended_cpu_cores: req.recommendedCpuCores,
    recommended_memory_gb: req.recommendedMemoryGb,
    recommended_storage_gb: req.recommendedStorageGb,
    hypervisor_compatibility: JSON.stringify(req.hypervisorCompatibility),
    updated_at: now,
    updated_by: actorId,
  };
  await trx("image_requirements")
    .insert({ image_id: imageId, ...row, created_at: now, created_by: actorId })
    .onConflict("image_id")
    .merge(row);
}
