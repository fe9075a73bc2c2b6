import type { TemplateConfig } from "./template-config.js";
import type { Template } from "./template.js";

/** The templates row as the database returns it (jsonb parsed by the driver, or text on some paths). */
export interface TemplateRow {
  id: string;
  name: string;
  description: string;
  use_case: TemplateConfig["useCase"];
  template_type: TemplateConfig["templateType"];
  base_image_id: string | null;
  default_cpu_cores: number;
  default_memory_gb: number;
  default_storage_gb: number;
  default_gpu_count: number;
  gpu_model: string;
  default_bandwidth_gbps: number | null;
  network_config: unknown;
  user_data: string;
  tags: unknown;
  visibility: Template["visibility"];
  owner_id: string;
  tenant_id: string | null;
  version: string;
  status: Template["status"];
  price_per_hour: number;
  listed: boolean;
  instance_count: number | null;
  instance_name_pattern: string | null;
  member_template_ids: unknown;
  load_balancer_config: unknown;
  shared_storage_config: unknown;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
  updated_by: string | null;
}

export const TEMPLATE_COLUMNS = [
  "id",
  "name",
  "description",
  "use_case",
  "template_type",
  "base_image_id",
  "default_cpu_cores",
  "default_memory_gb",
  "default_storage_gb",
  "default_gpu_count",
  "gpu_model",
  "default_bandwidth_gbps",
  "network_config",
  "user_data",
  "tags",
  "visibility",
  "owner_id",
  "tenant_id",
  "version",
  "status",
  "price_per_hour",
  "listed",
  "instance_count",
  "instance_name_pattern",
  "member_template_ids",
  "load_balancer_config",
  "shared_storage_config",
  "created_at",
  "updated_at",
  "created_by",
  "updated_by",
];

function json<T>(v: unknown): T {
  return (typeof v === "string" ? JSON.parse(v) : v) as T;
}

export function rowToConfig(r: TemplateRow): TemplateConfig {
  return {
    name: r.name,
    description: r.description,
    useCase: r.use_case,
    templateType: r.template_type,
    baseImageId: r.base_image_id,
    defaultCpuCores: r.default_cpu_cores,
    defaultMemoryGb: r.default_memory_gb,
    defaultStorageGb: r.default_storage_gb,
    defaultGpuCount: r.default_gpu_count,
    gpuModel: r.gpu_model,
    defaultBandwidthGbps: r.default_bandwidth_gbps === null ? null : Number(r.default_bandwidth_gbps),
    networkConfig: json(r.network_config),
    userData: r.user_data,
    tags: json(r.tags),
    pricePerHour: Number(r.price_per_hour),
    listed: r.listed,
    instanceSet:
      r.template_type === "instance_set"
        ? {
            instanceCount: r.instance_count!,
            instanceNamePattern: r.instance_name_pattern!,
            memberTemplateIds: json(r.member_template_ids),
            loadBalancerConfig: json(r.load_balancer_config),
            sharedStorageConfig: json(r.shared_storage_config),
          }
        : null,
  };
}

export function rowToTemplate(r: TemplateRow): Template {
  return {
    id: r.id,
    config: rowToConfig(r),
    visibility: r.visibility,
    status: r.status,
    ownerId: r.owner_id,
    tenantId: r.tenant_id,
    version: r.version,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    createdBy: r.created_by,
    updatedBy: r.updated_by,
  };
}

/** Config columns of a templates row (what an update or a rollback writes). */
export function configToRow(c: TemplateConfig): Record<string, unknown> {
  return {
    name: c.name,
    description: c.description,
    use_case: c.useCase,
    template_type: c.templateType,
    base_image_id: c.baseImageId,
    default_cpu_cores: c.defaultCpuCores,
    default_memory_gb: c.defaultMemoryGb,
    default_storage_gb: c.defaultStorageGb,
    default_gpu_count: c.defaultGpuCount,
    gpu_model: c.gpuModel,
    default_bandwidth_gbps: c.defaultBandwidthGbps,
    network_config: JSON.stringify(c.networkConfig),
    user_data: c.userData,
    tags: JSON.stringify(c.tags),
    price_per_hour: c.pricePerHour,
    listed: c.listed,
    instance_count: c.instanceSet?.instanceCount ?? null,
    instance_name_pattern: c.instanceSet?.instanceNamePattern ?? null,
    member_template_ids: JSON.stringify(c.instanceSet?.memberTemplateIds ?? []),
    load_balancer_config: JSON.stringify(c.instanceSet?.loadBalancerConfig ?? {}),
    shared_storage_config: JSON.stringify(c.instanceSet?.sharedStorageConfig ?? {}),
  };
}
