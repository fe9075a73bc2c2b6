import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  InstanceConfigSchema,
  NetworkConfigSchema,
  TemplateConfigSchema,
  TemplateSchema,
  TemplateService,
  TemplateVersionSchema,
  type InstanceOverrides as OverridesMessage,
  type NetworkConfig as NetworkMessage,
  type Template as TemplateMessage,
  type TemplateConfig as ConfigMessage,
} from "../../gen/edgehub/admin/v1/template_pb.js";
import { callerOf } from "../api/caller.js";
import { etagOf } from "../api/etag.js";
import { updatePaths } from "../api/field-mask.js";
import { AUTHENTICATED, rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import type { CatalogDeps } from "./catalog-deps.js";
import { TEMPLATE_STATUS, TEMPLATE_TYPE, TEMPLATE_VISIBILITY, USE_CASE, type CatalogStatus } from "./catalog-enums.js";
import { idKeyedPage, tenantFilter } from "./catalog-requests.js";
import type { NetworkConfig, TemplateConfig } from "./template-config.js";
import type { MergedInstanceConfig, TemplateOverrides } from "./template-config-merge.js";
import {
  changeTemplateStatus,
  createTemplate,
  deleteTemplate,
  rollbackTemplate,
  updateTemplate,
} from "./template-operations.js";
import { getTemplateVersionById, getVisibleTemplate, listTemplateVersions, listTemplates } from "./template-store.js";
import { instanceConfigFromTemplate } from "./template-use.js";
import type { Template, TemplateVersion } from "./template.js";

const MANAGE = rolesAllowed("admin", "tenant_admin");

export const templateServicePolicy: ServicePolicy<typeof TemplateService> = {
  createTemplate: MANAGE,
  getTemplate: AUTHENTICATED,
  listTemplates: AUTHENTICATED,
  updateTemplate: MANAGE,
  deprecateTemplate: MANAGE,
  activateTemplate: MANAGE,
  archiveTemplate: MANAGE,
  deleteTemplate: MANAGE,
  listTemplateVersions: AUTHENTICATED,
  getTemplateVersion: AUTHENTICATED,
  rollbackTemplate: MANAGE,
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
  return create(NetworkConfigSchema, {
    vpcId: n.vpc_id,
    subnetId: n.subnet_id,
    securityGroupIds: n.security_group_ids ?? [],
    autoAssignPublicIp: n.auto_assign_public_ip,
  });
}

/** `field` is the request field holding the config; unspecified use case and type take their defaults. */
function configFromMessage(m: ConfigMessage | undefined, field: string): TemplateConfig {
  const c = m ?? create(TemplateConfigSchema);
  const templateType = c.templateType === 0 ? "instance" : TEMPLATE_TYPE.toDb(`${field}.template_type`, c.templateType);
  const useCase = c.useCase === 0 ? "general" : USE_CASE.toDb(`${field}.use_case`, c.useCase);
  const s = c.instanceSet;
  return {
    name: c.name,
    description: c.description,
    useCase,
    templateType,
    baseImageId: c.baseImageId || null,
    defaultCpuCores: c.defaultCpuCores,
    defaultMemoryGb: c.defaultMemoryGb,
    defaultStorageGb: c.defaultStorageGb,
    defaultGpuCount: c.defaultGpuCount,
    gpuModel: c.gpuModel,
    defaultBandwidthGbps: c.defaultBandwidthGbps ?? null,
    networkConfig: networkFromMessage(c.networkConfig),
    userData: c.userData,
    tags: { ...c.tags },
    pricePerHour: c.pricePerHour,
    listed: c.listed,
    instanceSet: s
      ? {
          instanceCount: s.instanceCount,
          instanceNamePattern: s.instanceNamePattern,
          memberTemplateIds: [...s.memberTemplateIds],
          loadBalancerConfig: s.loadBalancerConfig ?? {},
          sharedStorageConfig: s.sharedStorageConfig ?? {},
        }
      : null,
  };
}

function configMessage(c: TemplateConfig): ConfigMessage {
  return create(TemplateConfigSchema, {
    name: c.name,
    description: c.description,
    useCase: USE_CASE.fromDb(c.useCase),
    templateType: TEMPLATE_TYPE.fromDb(c.templateType),
    baseImageId: c.baseImageId ?? "",
    defaultCpuCores: c.defaultCpuCores,
    defaultMemoryGb: c.defaultMemoryGb,
    defaultStorageGb: c.defaultStorageGb,
    defaultGpuCount: c.defaultGpuCount,
    gpuModel: c.gpuModel,
    ...(c.defaultBandwidthGbps !== null ? { defaultBandwidthGbps: c.defaultBandwidthGbps } : {}),
    networkConfig: networkMessage(c.networkConfig),
    userData: c.userData,
    tags: c.tags,
    pricePerHour: c.pricePerHour,
    listed: c.listed,
    ...(c.instanceSet
      ? {
          instanceSet: {
            instanceCount: c.instanceSet.instanceCount,
            instanceNamePattern: c.instanceSet.instanceNamePattern,
            memberTemplateIds: c.instanceSet.memberTemplateIds,
            loadBalancerConfig: c.instanceSet.loadBalancerConfig as JsonObject,
            sharedStorageConfig: c.instanceSet.sharedStorageConfig as JsonObject,
          },
        }
      : {}),
  });
}

function templateMessage(t: Template) {
  return create(TemplateSchema, {
    id: t.id,
    config: configMessage(t.config),
    visibility: TEMPLATE_VISIBILITY.fromDb(t.visibility),
    status: TEMPLATE_STATUS.fromDb(t.status),
    ownerId: t.ownerId,
    tenantId: t.tenantId ?? "",
    latestVersionNumber: t.version,
    createTime: timestampFromDate(t.createdAt),
    updateTime: timestampFromDate(t.updatedAt),
    creatorId: t.createdBy ?? "",
    updaterId: t.updatedBy ?? "",
    etag: etagOf(t),
  });
}

function versionMessage(v: TemplateVersion) {
  return create(TemplateVersionSchema, {
    id: v.id,
    templateId: v.templateId,
    versionNumber: v.versionNumber,
    isLatest: v.isLatest,
    configSnapshot: configMessage(v.config),
    changelog: v.changelog,
    createTime: timestampFromDate(v.createdAt),
    creatorId: v.createdBy ?? "",
    etag: etagOf(v),
  });
}

/** update_mask paths of UpdateTemplate → the config key they change (visibility is handled apart). */
const CONFIG_PATHS = {
  "config.name": "name",
  "config.description": "description",
  "config.use_case": "useCase",
  "config.base_image_id": "baseImageId",
  "config.default_cpu_cores": "defaultCpuCores",
  "config.default_memory_gb": "defaultMemoryGb",
  "config.default_storage_gb": "defaultStorageGb",
  "config.default_gpu_count": "defaultGpuCount",
  "config.gpu_model": "gpuModel",
  "config.default_bandwidth_gbps": "defaultBandwidthGbps",
  "config.network_config": "networkConfig",
  "config.user_data": "userData",
  "config.tags": "tags",
  "config.price_per_hour": "pricePerHour",
  "config.listed": "listed",
  "config.instance_set": "instanceSet",
} as const satisfies Record<string, Exclude<keyof TemplateConfig, "templateType">>;
const UPDATABLE = ["visibility", ...(Object.keys(CONFIG_PATHS) as (keyof typeof CONFIG_PATHS)[])] as const;

/** The masked config fields, as sent (an absent instance_set means "none"); template_type is the stored one, for the mapping only. */
function configPatch(
  paths: ReadonlySet<(typeof UPDATABLE)[number]>,
  m: TemplateMessage,
): Partial<Omit<TemplateConfig, "templateType">> {
  const full = configFromMessage(m.config, "template.config");
  const patch: Record<string, unknown> = {};
  for (const path of paths) if (path !== "visibility") patch[CONFIG_PATHS[path]] = full[CONFIG_PATHS[path]];
  return patch as Partial<Omit<TemplateConfig, "templateType">>;
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
    templateId: c.templateId,
    templateVersionId: c.templateVersionId,
    imageId: c.imageId ?? "",
    imageVersionId: c.imageVersionId ?? "",
    cpuCores: c.cpuCores,
    memoryGb: c.memoryGb,
    storageGb: c.storageGb,
    gpuCount: c.gpuCount,
    ...(c.bandwidthGbps !== null ? { bandwidthGbps: c.bandwidthGbps } : {}),
    networkConfig: networkMessage(c.networkConfig),
    userData: c.userData,
    tags: c.tags,
  });
}

export function createTemplateService(deps: CatalogDeps): ServiceImpl<typeof TemplateService> {
  const { knex } = deps;
  const caller = (ctx: HandlerContext) => callerOf(ctx, deps.clock);
  const status = async (id: string, ctx: HandlerContext, to: CatalogStatus) => ({
    template: templateMessage(await changeTemplateStatus(deps, caller(ctx), requireId("id", id), to)),
  });
  return {
    async createTemplate(req, ctx) {
      const t = req.template ?? create(TemplateSchema);
      const template = await createTemplate(deps, caller(ctx), {
        config: configFromMessage(t.config, "template.config"),
        visibility: t.visibility === 0 ? "private" : TEMPLATE_VISIBILITY.toDb("template.visibility", t.visibility),
        tenantId: optionalId("template.tenant_id", t.tenantId),
        versionNumber: req.versionNumber,
        changelog: req.changelog,
      });
      return { template: templateMessage(template) };
    },
    async getTemplate(req, ctx) {
      return { template: templateMessage(await getVisibleTemplate(knex, requireId("id", req.id), principalOf(ctx))) };
    },
    async listTemplates(req, ctx) {
      const page = await listTemplates(
        knex,
        principalOf(ctx),
        {
          useCase: USE_CASE.toDbFilter("use_case", req.useCase) ?? undefined,
          templateType: TEMPLATE_TYPE.toDbFilter("template_type", req.templateType) ?? undefined,
          visibility: TEMPLATE_VISIBILITY.toDbFilter("visibility", req.visibility) ?? undefined,
          status: TEMPLATE_STATUS.toDbFilter("status", req.status) ?? undefined,
          listed: req.listed,
          tenantId: tenantFilter(principalOf(ctx), req.tenantId),
          baseImageId: optionalId("base_image_id", req.baseImageId) ?? undefined,
          nameContains: req.nameContains || undefined,
        },
        idKeyedPage(req.pageSize, req.pageToken),
      );
      return { templates: page.items.map(templateMessage), nextPageToken: page.nextPageToken };
    },
    async updateTemplate(req, ctx) {
      if (!req.template) throw new InvalidArgumentError("template", "is required");
      const id = requireId("template.id", req.template.id);
      const paths = updatePaths(req.updateMask, UPDATABLE);
      const { template, version } = await updateTemplate(deps, caller(ctx), id, {
        config: configPatch(paths, req.template),
        versionNumber: req.versionNumber,
        changelog: req.changelog,
        etag: req.template.etag,
        ...(paths.has("visibility")
          ? { visibility: TEMPLATE_VISIBILITY.toDb("template.visibility", req.template.visibility) }
          : {}),
      });
      return { template: templateMessage(template), version: versionMessage(version) };
    },
    deprecateTemplate: (req, ctx) => status(req.id, ctx, "deprecated"),
    activateTemplate: (req, ctx) => status(req.id, ctx, "active"),
    archiveTemplate: (req, ctx) => status(req.id, ctx, "archived"),
    async deleteTemplate(req, ctx) {
      await deleteTemplate(deps, caller(ctx), requireId("id", req.id));
      return {};
    },
    async listTemplateVersions(req, ctx) {
      const template = await getVisibleTemplate(knex, requireId("template_id", req.templateId), principalOf(ctx));
      const page = await listTemplateVersions(knex, template.id, idKeyedPage(req.pageSize, req.pageToken));
      return { versions: page.items.map(versionMessage), nextPageToken: page.nextPageToken };
    },
    async getTemplateVersion(req, ctx) {
      const version = await getTemplateVersionById(knex, requireId("id", req.id));
      // Visible only through its template; an invisible template's version is not_found like a missing one.
      await getVisibleTemplate(knex, version.templateId, principalOf(ctx)).catch((err: unknown) => {
        throw err instanceof NotFoundError ? new NotFoundError("template version", version.id) : err;
      });
      return { version: versionMessage(version) };
    },
    async rollbackTemplate(req, ctx) {
      const templateId = requireId("template_id", req.templateId);
      const { template, version } = await rollbackTemplate(
        deps,
        caller(ctx),
        templateId,
        requireId("to_version_id", req.toVersionId),
        req.changelog,
      );
      return { template: templateMessage(template), version: versionMessage(version) };
    },
    async previewInstanceConfig(req, ctx) {
      const templateVersionId = optionalId("template_version_id", req.templateVersionId) ?? "";
      const merged = await instanceConfigFromTemplate(knex, principalOf(ctx), {
        templateId: requireId("template_id", req.templateId),
        templateVersionId,
        overrides: overridesFromMessage(req.overrides),
        overridesField: "overrides.",
      });
      return { config: instanceConfigMessage(merged) };
    },
  };
}
