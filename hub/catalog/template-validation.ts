import { InvalidArgumentError } from "../domain/errors.js";
import { quotedInput } from "../api/size-limits.js";
import { isUuid } from "../api/resource-id.js";
import type { NetworkConfig, TemplateConfig } from "./template-config.js";

export const MAX_USER_DATA_BYTES = 64 * 1024;
export const MAX_INSTANCE_COUNT = 1000;
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

function positiveInt(field: string, v: number, allowZero = false): void {
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1) || v > 2_147_483_647) {
    throw new InvalidArgumentError(field, `${v} must be ${allowZero ? "a non-negative" : "a positive"} integer`);
  }
}

export function validateNetworkConfig(field: string, n: NetworkConfig): void {
  const allowed = new Set(["vpc_id", "subnet_id", "security_group_ids", "auto_assign_public_ip"]);
  for (const key of Object.keys(n))
    if (!allowed.has(key))
      throw new InvalidArgumentError(
        `${field}.${key}`,
        "is not a network setting (vpc_id, subnet_id, security_group_ids, auto_assign_public_ip)",
      );
  for (const key of ["vpc_id", "subnet_id"] as const) {
    const v = n[key];
    if (v !== undefined && (typeof v !== "string" || v === "" || v.length > 128))
      throw new InvalidArgumentError(`${field}.${key}`, "must be a non-empty id of at most 128 characters");
  }
  n.security_group_ids?.forEach((id, i) => {
    if (typeof id !== "string" || id === "")
      throw new InvalidArgumentError(`${field}.security_group_ids[${i}]`, "must be a non-empty id");
  });
}

/** An instance name pattern must number members with `{i}` (000 §6.2.2 `web-server-{i}`) and yield DNS-label names. */
export function validateInstanceNamePattern(field: string, pattern: string): void {
  if (!pattern.includes("{i}"))
    throw new InvalidArgumentError(field, `"${pattern}" must contain {i}, the member number (e.g. web-{i})`);
  const sample = pattern.replaceAll("{i}", "1000");
  if (!NAME_PATTERN.test(sample) || sample.length > 63) {
    throw new InvalidArgumentError(
      field,
      `"${pattern}" must give lower-case DNS labels (letters, digits, "-", at most 63 characters)`,
    );
  }
}

/**
 * Checks a whole template configuration; each error names the request field, under `prefix` (the
 * request field holding the config). Enum fields arrive typed (catalog-enums.ts).
 */
export function validateTemplateConfig(c: TemplateConfig, prefix = "template.config."): TemplateConfig {
  const f = (field: string) => `${prefix}${field}`;
  if (c.name.trim() === "") throw new InvalidArgumentError(f("name"), "is required");
  if (c.name.length > 255) throw new InvalidArgumentError(f("name"), "is longer than 255 characters");
  if (c.description.length > 4000) throw new InvalidArgumentError(f("description"), "is longer than 4000 characters");
  if (c.baseImageId !== null && !isUuid(c.baseImageId))
    throw new InvalidArgumentError(f("base_image_id"), `must be a UUID, got ${quotedInput(c.baseImageId)}`);
  if (c.templateType === "instance" && c.baseImageId === null)
    throw new InvalidArgumentError(f("base_image_id"), "is required for an instance template");
  positiveInt(f("default_cpu_cores"), c.defaultCpuCores);
  positiveInt(f("default_memory_gb"), c.defaultMemoryGb);
  positiveInt(f("default_storage_gb"), c.defaultStorageGb);
  positiveInt(f("default_gpu_count"), c.defaultGpuCount, true);
  // 002 flavors: GPU count 0 is a CPU-only flavor, which has no GPU model.
  if (c.defaultGpuCount === 0 && c.gpuModel !== "")
    throw new InvalidArgumentError(
      f("gpu_model"),
      `must be empty for a CPU-only template (default_gpu_count 0), got "${c.gpuModel}"`,
    );
  if (c.defaultBandwidthGbps !== null && !(Number.isFinite(c.defaultBandwidthGbps) && c.defaultBandwidthGbps > 0)) {
    throw new InvalidArgumentError(f("default_bandwidth_gbps"), `${c.defaultBandwidthGbps} must be a positive number`);
  }
  validateNetworkConfig(f("network_config"), c.networkConfig);
  if (Buffer.byteLength(c.userData) > MAX_USER_DATA_BYTES)
    throw new InvalidArgumentError(f("user_data"), `is larger than ${MAX_USER_DATA_BYTES} bytes`);
  for (const [k, v] of Object.entries(c.tags)) {
    if (!TAG_KEY.test(k))
      throw new InvalidArgumentError(f(`tags.${k}`), "key must be 1–63 letters, digits, '.', '_', '/', '-'");
    if (typeof v !== "string" || v.length > 255)
      throw new InvalidArgumentError(f(`tags.${k}`), "value must be a string of at most 255 characters");
  }
  if (!Number.isFinite(c.pricePerHour) || c.pricePerHour < 0)
    throw new InvalidArgumentError(f("price_per_hour"), `${c.pricePerHour} must be a non-negative number`);
  if (c.templateType === "instance_set") {
    const s = c.instanceSet;
    if (!s) throw new InvalidArgumentError(f("instance_set"), "is required for an instance_set template");
    positiveInt(f("instance_set.instance_count"), s.instanceCount);
    if (s.instanceCount > MAX_INSTANCE_COUNT)
      throw new InvalidArgumentError(
        f("instance_set.instance_count"),
        `${s.instanceCount} is above ${MAX_INSTANCE_COUNT}`,
      );
    validateInstanceNamePattern(f("instance_set.instance_name_pattern"), s.instanceNamePattern);
    s.memberTemplateIds.forEach((id, i) => {
      if (!isUuid(id))
        throw new InvalidArgumentError(
          f(`instance_set.member_template_ids[${i}]`),
          `must be a UUID, got ${quotedInput(id)}`,
        );
    });
    if (new Set(s.memberTemplateIds).size !== s.memberTemplateIds.length)
      throw new InvalidArgumentError(f("instance_set.member_template_ids"), "lists a template twice");
  } else if (c.instanceSet !== null) {
    throw new InvalidArgumentError(f("instance_set"), "is only for instance_set templates");
  }
  return c;
}
