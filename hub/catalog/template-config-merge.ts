import { InvalidArgumentError } from "../domain/errors.js";
import type { NetworkConfig, TemplateConfig } from "./template-config.js";

/** What a user may set when creating an instance from a template (000 §6.2.1 "模板参数化"). */
export interface TemplateOverrides {
  /** Only accepted when equal to the template's image: the image is never overridable. */
  imageId?: string;
  /** A version of the template's image; unset means the image's default version at creation. */
  imageVersionId?: string;
  cpuCores?: number;
  memoryGb?: number;
  storageGb?: number;
  gpuCount?: number;
  bandwidthGbps?: number;
  /** Merged key by key over the template's network config, or replacing it when replaceNetworkConfig. */
  networkConfig?: NetworkConfig;
  replaceNetworkConfig?: boolean;
  /** Replaces the template's user_data script. */
  userData?: string;
  /** Appended to the template's user_data script (a partial override); excludes userData. */
  userDataAppend?: string;
  /** Merged over the template's tags; the user's value wins per key. */
  tags?: Record<string, string>;
}

/** The instance configuration a template version and a user's overrides produce. */
export interface MergedInstanceConfig {
  templateId: string;
  templateVersionId: string;
  imageId: string | null;
  imageVersionId: string | null;
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  gpuCount: number;
  bandwidthGbps: number | null;
  networkConfig: NetworkConfig;
  userData: string;
  tags: Record<string, string>;
}

export interface TemplateVersionInput {
  templateId: string;
  versionId: string;
  config: TemplateConfig;
}

/** Which image a version id belongs to; undefined when no such (live) version exists. */
export type ImageVersionLookup = (imageVersionId: string) => { imageId: string } | undefined;

function positiveInt(field: string, v: number | undefined, allowZero = false): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1))
    throw new InvalidArgumentError(field, `${v} must be ${allowZero ? "a non-negative" : "a positive"} integer`);
}

/**
 * 000 §6.2.1 merge rules as a pure function: a user value wins over the template default, a
 * missing one takes the default; the image is fixed; an image version must be one of that image;
 * network config and user_data may be overridden wholly or partly. Throws InvalidArgumentError
 * naming the override field; never reads the database (the lookup is handed in).
 */
export function mergeTemplateConfig(
  version: TemplateVersionInput,
  overrides: TemplateOverrides,
  lookupImageVersion: ImageVersionLookup,
  fieldPrefix = "",
): MergedInstanceConfig {
  const t = version.config;
  const f = (field: string) => `${fieldPrefix}${field}`;
  positiveInt(f("cpu_cores"), overrides.cpuCores);
  positiveInt(f("memory_gb"), overrides.memoryGb);
  positiveInt(f("storage_gb"), overrides.storageGb);
  positiveInt(f("gpu_count"), overrides.gpuCount, true);
  if (
    overrides.bandwidthGbps !== undefined &&
    !(overrides.bandwidthGbps > 0 && Number.isFinite(overrides.bandwidthGbps))
  ) {
    throw new InvalidArgumentError(f("bandwidth_gbps"), `${overrides.bandwidthGbps} must be a positive number`);
  }
  if (overrides.imageId !== undefined && overrides.imageId !== t.baseImageId) {
    throw new InvalidArgumentError(
      f("image_id"),
      `cannot be overridden: template ${version.templateId} always uses image ${t.baseImageId ?? "(none)"}`,
    );
  }
  let imageVersionId: string | null = null;
  if (overrides.imageVersionId !== undefined) {
    if (t.baseImageId === null)
      throw new InvalidArgumentError(
        f("image_version_id"),
        `template ${version.templateId} has no base image to pick a version of`,
      );
    const found = lookupImageVersion(overrides.imageVersionId);
    if (!found) throw new InvalidArgumentError(f("image_version_id"), `no image version ${overrides.imageVersionId}`);
    if (found.imageId !== t.baseImageId) {
      throw new InvalidArgumentError(
        f("image_version_id"),
        `${overrides.imageVersionId} is a version of image ${found.imageId}, not of the template's image ${t.baseImageId}`,
      );
    }
    imageVersionId = overrides.imageVersionId;
  }
  if (overrides.userData !== undefined && overrides.userDataAppend !== undefined) {
    throw new InvalidArgumentError(
      f("user_data_append"),
      "cannot be combined with user_data (replace or append, not both)",
    );
  }
  return {
    templateId: version.templateId,
    templateVersionId: version.versionId,
    imageId: t.baseImageId,
    imageVersionId,
    cpuCores: overrides.cpuCores ?? t.defaultCpuCores,
    memoryGb: overrides.memoryGb ?? t.defaultMemoryGb,
    storageGb: overrides.storageGb ?? t.defaultStorageGb,
    gpuCount: overrides.gpuCount ?? t.defaultGpuCount,
    bandwidthGbps: overrides.bandwidthGbps ?? t.defaultBandwidthGbps,
    networkConfig: mergeNetwork(t.networkConfig, overrides),
    userData: mergeUserData(t.userData, overrides),
    tags: { ...t.tags, ...(overrides.tags ?? {}) },
  };
}

function mergeNetwork(base: NetworkConfig, o: TemplateOverrides): NetworkConfig {
  if (o.replaceNetworkConfig) return structuredClone(o.networkConfig ?? {});
  const merged: NetworkConfig = structuredClone(base);
  for (const [key, value] of Object.entries(o.networkConfig ?? {}) as [keyof NetworkConfig, never][]) {
    if (value !== undefined) merged[key] = structuredClone(value);
  }
  return merged;
}

function mergeUserData(base: string, o: TemplateOverrides): string {
  if (o.userData !== undefined) return o.userData;
  if (o.userDataAppend === undefined || o.userDataAppend === "") return base;
  if (base === "") return o.userDataAppend;
  return base.endsWith("\n") ? base + o.userDataAppend : `${base}\n${o.userDataAppend}`;
}
