import type { TemplateType, UseCase } from "./catalog-enums.js";

/** Network part of a template (000 §6.2.1); every key optional so overrides can be partial. */
export interface NetworkConfig {
  vpc_id?: string;
  subnet_id?: string;
  security_group_ids?: string[];
  auto_assign_public_ip?: boolean;
}

/** Instance-set additions of 000 §6.2.2. */
export interface InstanceSetConfig {
  instanceCount: number;
  /** Must contain `{i}`, replaced by the member's 1-based index (`web-{i}` → web-1, web-2, …). */
  instanceNamePattern: string;
  memberTemplateIds: string[];
  loadBalancerConfig: Record<string, unknown>;
  sharedStorageConfig: Record<string, unknown>;
}

/**
 * The full configuration of a template: what a template_versions.config_snapshot holds and what
 * rollback restores. Access fields (visibility, status, owner, tenant) are not part of it.
 */
export interface TemplateConfig {
  name: string;
  description: string;
  useCase: UseCase;
  templateType: TemplateType;
  baseImageId: string | null;
  defaultCpuCores: number;
  defaultMemoryGb: number;
  defaultStorageGb: number;
  defaultGpuCount: number;
  /** 002 flavors: empty for CPU-only (gpu count 0). */
  gpuModel: string;
  defaultBandwidthGbps: number | null;
  networkConfig: NetworkConfig;
  userData: string;
  tags: Record<string, string>;
  /** 002 flavors: hourly price and whether the flavor is offered ("listed"). */
  pricePerHour: number;
  listed: boolean;
  instanceSet: InstanceSetConfig | null;
}
