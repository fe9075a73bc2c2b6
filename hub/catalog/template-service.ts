import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  InstanceConfigSchema, NetworkConfigSchema, TemplateConfigSchema, TemplateSchema, TemplateService, TemplateVersionSchema,
  type InstanceOverrides as OverridesMessage, type NetworkConfig as NetworkMessage, type TemplateConfig as ConfigMessage,
} from "../../gen/edgehub/admin/v1/template_pb.js";
import { AUTHENTICATED, rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { principalOf } from "../api/request-context.js";
import { InvalidArgumentError } from "../domain/errors.js";
import type { CatalogDeps } from "./catalog-deps.js";
import { CATALOG_STATUSES, TEMPLATE_TYPES, USE_CASES, VISIBILITIES, parseEnum, parseOptionalEnum } from "./catalog-vocabulary.js";
import { parsePage } from "./catalog-page.js";
import { callerOf, tenantFilter } from "./image-service.js";
import type { NetworkConfig, TemplateConfig } from "./template-config.js";
import type { MergedInstanceConfig, TemplateOverrides } from "./template-config-merge.js";
import { createTemplate, deleteTemplate, rollbackTemplate, setTemplateStatus, updateTemplate } from "./template-operations.js";
import { getTemplateVersion, getVisibleTemplate, listTemplateVersions, listTemplates } from "./template-store.js";
import { instanceConfigFromTemplate } from "./template-use.js";
import type { Template, TemplateVersion } from "./template.js";

const MANAGE = rolesAllowed("admin", "tenant_admin");

export const templateServicePolicy: ServicePolicy<typeof TemplateService> = {
  createTemplate: MANAGE, getTemplate: AUTHENTICATED, listTemplates: AUTHENTICATED, updateTemplate: MANAGE, setTemplateStatus: MANAGE,
  deleteTemplate: MANAGE, listTemplateVersions: AUTHENTICATED, getTemplateVersion: AUTHENTICATED, rollbackTemplate: MANAGE,
  previewInstanceConfig: AUTHENTICATED,
};

function networkFromMessage(m: NetworkMessage | undefined): NetworkConfig {
  const n: NetworkConfig = {};
  if (m?.vpcId !== undefined) n.vpc_id = m.vpcId;
  if (m?.subnetId !== undefined) n.subnet_id = m.subnetId;
  if (m && m.securityGroupIds.length > 0) n.security_group_ids = [...m.securityGroupIds];
  if (m?.autoAssignPublicIp !== undefined) n.auto_assign_public_ip = m.autoAssignPublicIp;
  return n;
}

function networkMessage(n: NetworkConfig): NetworkMessage {
  return create(NetworkConfigSchema, { vpcId: n.vpc_id, subnetId: n.subnet_id, securityGroupIds: n.security_group_ids ?? [], autoAssignPublicIp: n.auto_assign_public_ip });
}

function configFromMessage(m: ConfigMessage | undefined): TemplateConfig {
  const c = m ?? create(TemplateConfigSchema);
  const templateType = parseEnum("config.template_type", c.templateType || "instance", TEMPLATE_TYPES);
  const s = c.instanceSet;
  return {
    name: c.name, description: c.description, useCase: parseEnum("config.use_case", c.useCase || "general", USE_CASES), templateType,
    baseImageId: c.baseImageId || null, defaultCpuCores: c.defaultCpuCores, defaultMemoryGb: c.defaultMemoryGb, defaultStorageGb: c.defaultStorageGb,
    defaultGpuCount: c.defaultGpuCount, gpuModel: c.gpuModel, defaultBandwidthGbps: c.defaultBandwidthGbps ?? null,
    networkConfig: networkFromMessage(c.networkConfig), userData: c.userData, tags: { ...c.tags }, pricePerHour: c.pricePerHour, listed: c.listed,
    instanceSet: s ? {
      instanceCount: s.instanceCount, instanceNamePattern: s.instanceNamePattern, memberTemplateIds: [...s.memberTemplateIds],
      loadBalancerConfig: s.loadBalancerConfig ?? {}, sharedStorageConfig: s.sharedStorageConfig ?? {},
    } : null,
  };
}

function configMessage(c: TemplateConfig): ConfigMessage {
  return create(TemplateConfigSchema, {
    name: c.name, description: c.description, useCase: c.useCase, templateType: c.templateType, baseImageId: c.baseImageId ?? "",
    defaultCpuCores: c.defaultCpuCores, defaultMemoryGb: c.defaultMemoryGb, defaultStorageGb: c.defaultStorageGb, defaultGpuCount: c.defaultGpuCount,
    gpuModel: c.gpuModel, ...(c.defaultBandwidthGbps !== null ? { defaultBandwidthGbps: c.defaultBandwidthGbps } : {}),
    networkConfig: networkMessage(c.networkConfig), userData: c.userData, tags: c.tags, pricePerHour: c.pricePerHour, listed: c.listed,
    ...(c.instanceSet ? { instanceSet: {
      instanceCount: c.instanceSet.instanceCount, instanceNamePattern: c.instanceSet.instanceNamePattern, memberTemplateIds: c.instanceSet.memberTemplateIds,
      loadBalancerConfig: c.instanceSet.loadBalancerConfig as JsonObject, sharedStorageConfig: c.instanceSet.sharedStorageConfig as JsonObject,
    } } : {}),
  });
}

function templateMessage(t: Template) {
  return create(TemplateSchema, {
    id: t.id, config: configMessage(t.config), visibility: t.visibility, status: t.status, ownerId: t.ownerId, tenantId: t.tenantId ?? "",
    version: t.version, createdAt: timestampFromDate(t.createdAt), updatedAt: timestampFromDate(t.updatedAt), createdBy: t.createdBy ?? "", updatedBy: t.updatedBy ?? "",
  });
}

function versionMessage(v: TemplateVersion) {
  return create(TemplateVersionSchema, {
    id: v.id, templateId: v.templateId, versionNumber: v.versionNumber, isLatest: v.isLatest, configSnapshot: configMessage(v.config),
    changelog: v.changelog, createdAt: timestampFromDate(v.createdAt), createdBy: v.createdBy ?? "",
  });
}

/** update_mask path (snake_case of TemplateConfig) → domain key. */
const MASK_PATHS: Record<string, keyof TemplateConfig> = {
  name: "name", description: "description", use_case: "useCase", template_type: "templateType", base_image_id: "baseImageId",
  default_cpu_cores: "defaultCpuCores", default_memory_gb: "defaultMemoryGb", default_storage_gb: "defaultStorageGb",
  default_gpu_count: "defaultGpuCount", gpu_model: "gpuModel", default_bandwidth_gbps: "defaultBandwidthGbps", network_config: "networkConfig",
  user_data: "userData", tags: "tags", price_per_hour: "pricePerHour", listed: "listed", instance_set: "instanceSet",
};

function patchFromMask(paths: readonly string[], m: ConfigMessage | undefined): Partial<TemplateConfig> {
  if (paths.length === 0) throw new InvalidArgumentError("update_mask", "names no field; list the config fields to change (e.g. default_cpu_cores)");
  const full = configFromMessage(m);
  const patch: Partial<TemplateConfig> = {};
  for (const path of paths) {
    const key = MASK_PATHS[path];
    if (!key) throw new InvalidArgumentError("update_mask", `"${path}" is not a template config field`);
    if (key === "templateType") throw new InvalidArgumentError("template_type", "cannot change after creation");
    // instance_set comes from the request as sent (absent means "none"), everything else likewise.
    (patch as Record<string, unknown>)[key] = full[key];
  }
  return patch;
}

function overridesFromMessage(o: OverridesMessage | undefined): TemplateOverrides {
  if (!o) return {};
  const out: TemplateOverrides = {};
  if (o.imageId !== undefined) out.imageId = o.imageId;
  if (o.imageVersionId !== undefined) out.imageVersionId = o.imageVersionId;
  if (o.cpuCores !== undefined) out.cpuCores = o.cpuCores;
  if (o.memoryGb !== undefined) out.memoryGb = o.memoryGb;
  if (o.storageGb !== undefined) out.storageGb = o.storageGb;
  if (o.gpuCount !== undefined) out.gpuCount = o.gpuCount;
  if (o.bandwidthGbps !== undefined) out.bandwidthGbps = o.bandwidthGbps;
  if (o.networkConfig) out.networkConfig = networkFromMessage(o.networkConfig);
  if (o.replaceNetworkConfig) out.replaceNetworkConfig = true;
  if (o.userData !== undefined) out.userData = o.userData;
  if (o.userDataAppend !== undefined) out.userDataAppend = o.userDataAppend;
  if (Object.keys(o.tags).length > 0) out.tags = { ...o.tags };
  return out;
}

function instanceConfigMessage(c: MergedInstanceConfig) {
  return create(InstanceConfigSchema, {
    templateId: c.templateId, templateVersionId: c.templateVersionId, imageId: c.imageId ?? "", imageVersionId: c.imageVersionId ?? "",
    cpuCores: c.cpuCores, memoryGb: c.memoryGb, storageGb: c.storageGb, gpuCount: c.gpuCount,
    ...(c.bandwidthGbps !== null ? { bandwidthGbps: c.bandwidthGbps } : {}), networkConfig: networkMessage(c.networkConfig), userData: c.userData, tags: c.tags,
  });
}

export function createTemplateService(deps: CatalogDeps): ServiceImpl<typeof TemplateService> {
  const { knex } = deps;
  return {
    async createTemplate(req, ctx) {
      const template = await createTemplate(deps, callerOf(ctx), {
        config: configFromMessage(req.config), visibility: parseEnum("visibility", req.visibility || "private", VISIBILITIES),
        tenantId: req.tenantId || null, versionNumber: req.versionNumber, changelog: req.changelog,
      });
      return { template: templateMessage(template) };
    },
    async getTemplate(req, ctx) {
      return { template: templateMessage(await getVisibleTemplate(knex, req.id, principalOf(ctx))) };
    },
    async listTemplates(req, ctx) {
      const page = await listTemplates(knex, principalOf(ctx), {
        useCase: parseOptionalEnum("use_case", req.useCase, USE_CASES), templateType: parseOptionalEnum("template_type", req.templateType, TEMPLATE_TYPES),
        visibility: parseOptionalEnum("visibility", req.visibility, VISIBILITIES), status: parseOptionalEnum("status", req.status, CATALOG_STATUSES),
        listed: req.listed, tenantId: tenantFilter(principalOf(ctx), req.tenantId), baseImageId: req.baseImageId || undefined, nameContains: req.nameContains || undefined,
      }, parsePage(req.pageSize, req.pageToken));
      return { templates: page.items.map(templateMessage), nextPageToken: page.nextPageToken };
    },
    async updateTemplate(req, ctx) {
      const { template, version } = await updateTemplate(deps, callerOf(ctx), req.id, {
        config: patchFromMask(req.updateMask?.paths ?? [], req.config), versionNumber: req.versionNumber, changelog: req.changelog,
        ...(req.visibility !== undefined ? { visibility: parseEnum("visibility", req.visibility, VISIBILITIES) } : {}),
      });
      return { template: templateMessage(template), version: versionMessage(version) };
    },
    async setTemplateStatus(req, ctx) {
      return { template: templateMessage(await setTemplateStatus(deps, callerOf(ctx), req.id, parseEnum("status", req.status, CATALOG_STATUSES))) };
    },
    async deleteTemplate(req, ctx) {
      await deleteTemplate(deps, callerOf(ctx), req.id);
      return {};
    },
    async listTemplateVersions(req, ctx) {
      const template = await getVisibleTemplate(knex, req.templateId, principalOf(ctx));
      return { versions: (await listTemplateVersions(knex, template.id)).map(versionMessage) };
    },
    async getTemplateVersion(req, ctx) {
      const template = await getVisibleTemplate(knex, req.templateId, principalOf(ctx));
      return { version: versionMessage(await getTemplateVersion(knex, template.id, req.versionId)) };
    },
    async rollbackTemplate(req, ctx) {
      const { template, version } = await rollbackTemplate(deps, callerOf(ctx), req.templateId, req.toVersionId, req.changelog);
      return { template: templateMessage(template), version: versionMessage(version) };
    },
    async previewInstanceConfig(req, ctx) {
      const merged = await instanceConfigFromTemplate(knex, principalOf(ctx), {
        templateId: req.templateId, templateVersionId: req.templateVersionId, overrides: overridesFromMessage(req.overrides),
      });
      return { config: instanceConfigMessage(merged) };
    },
  };
}
