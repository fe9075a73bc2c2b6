import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import type { Hypervisor } from "./catalog-enums.js";

/** Minimum and recommended resources of an image (000 §6.4.5). Zero means "no requirement". */
export interface ImageRequirements {
  minCpuCores: number;
  minMemoryGb: number;
  minStorageGb: number;
  recommendedCpuCores: number;
  recommendedMemoryGb: number;
  recommendedStorageGb: number;
  /** e.g. ["kvm"]; empty means any hypervisor. */
  hypervisorCompatibility: Hypervisor[];
}

export const NO_REQUIREMENTS: Readonly<ImageRequirements> = Object.freeze({
  minCpuCores: 0,
  minMemoryGb: 0,
  minStorageGb: 0,
  recommendedCpuCores: 0,
  recommendedMemoryGb: 0,
  recommendedStorageGb: 0,
  hypervisorCompatibility: [],
});

/** What an instance (or a spec change) asks for; hypervisor is the target machine's, when known. */
export interface InstanceSpec {
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  hypervisor?: Hypervisor;
}

/** One dimension that falls short, with what the image needs. */
export type RequirementShortfall =
  | { dimension: "cpu_cores" | "memory_gb" | "storage_gb"; requested: number; minimum: number; recommended: number }
  | { dimension: "hypervisor"; requested: Hypervisor; supported: Hypervisor[] };

/**
 * 000 §9.2: the operation is refused with every short dimension, its minimum and the recommended
 * value (failed_precondition IMAGE_REQUIREMENTS_NOT_MET; image-service.ts adds the typed detail).
 */
export class ImageRequirementsNotMetError extends FailedPreconditionError {
  override readonly name = "ImageRequirementsNotMetError";
  constructor(
    readonly imageLabel: string,
    readonly shortfalls: readonly RequirementShortfall[],
    readonly imageVersionId = "",
  ) {
    super(`Cannot use image ${imageLabel}: ${shortfalls.map(describeShortfall).join("; ")}`, {
      reason: "IMAGE_REQUIREMENTS_NOT_MET",
      metadata: { image: imageLabel },
    });
  }
}

export function describeShortfall(s: RequirementShortfall): string {
  if (s.dimension === "hypervisor")
    return `hypervisor ${s.requested} is not supported (supported: ${s.supported.join(",")})`;
  return `${s.dimension} ${s.requested} is below the minimum ${s.minimum} (recommended ${s.recommended})`;
}

/** Every shortfall of `spec` against `req`; empty when the spec is enough. */
export function requirementShortfalls(spec: InstanceSpec, req: ImageRequirements): RequirementShortfall[] {
  const out: RequirementShortfall[] = [];
  const dims = [
    ["cpu_cores", spec.cpuCores, req.minCpuCores, req.recommendedCpuCores],
    ["memory_gb", spec.memoryGb, req.minMemoryGb, req.recommendedMemoryGb],
    ["storage_gb", spec.storageGb, req.minStorageGb, req.recommendedStorageGb],
  ] as const;
  for (const [dimension, requested, minimum, recommended] of dims) {
    if (requested < minimum) out.push({ dimension, requested, minimum, recommended });
  }
  const supported = req.hypervisorCompatibility;
  if (spec.hypervisor !== undefined && supported.length > 0 && !supported.includes(spec.hypervisor)) {
    out.push({ dimension: "hypervisor", requested: spec.hypervisor, supported: [...supported] });
  }
  return out;
}

/** Throws ImageRequirementsNotMetError (failed_precondition) when `spec` is short of `req` in any dimension. */
export function checkImageRequirements(
  imageLabel: string,
  spec: InstanceSpec,
  req: ImageRequirements,
  imageVersionId = "",
): void {
  const shortfalls = requirementShortfalls(spec, req);
  if (shortfalls.length > 0) throw new ImageRequirementsNotMetError(imageLabel, shortfalls, imageVersionId);
}

/** Validates requirements an admin sets: non-negative integers, recommended ≥ minimum, no hypervisor twice. `prefix` is the request field holding them. */
export function validateImageRequirements(req: ImageRequirements, prefix = "requirements."): ImageRequirements {
  const pairs = [
    ["cpu_cores", req.minCpuCores, req.recommendedCpuCores],
    ["memory_gb", req.minMemoryGb, req.recommendedMemoryGb],
    ["storage_gb", req.minStorageGb, req.recommendedStorageGb],
  ] as const;
  for (const [dim, min, rec] of pairs) {
    if (!Number.isInteger(min) || min < 0)
      throw new InvalidArgumentError(`${prefix}min_${dim}`, `${min} must be a non-negative integer`);
    if (!Number.isInteger(rec) || rec < 0)
      throw new InvalidArgumentError(`${prefix}recommended_${dim}`, `${rec} must be a non-negative integer`);
    if (rec < min) throw new InvalidArgumentError(`${prefix}recommended_${dim}`, `${rec} is below min_${dim} ${min}`);
  }
  const seen = new Set<string>();
  req.hypervisorCompatibility.forEach((h, i) => {
    if (seen.has(h))
      throw new InvalidArgumentError(`${prefix}hypervisor_compatibility[${i}]`, `"${h}" is listed twice`);
    seen.add(h);
  });
  return req;
}
