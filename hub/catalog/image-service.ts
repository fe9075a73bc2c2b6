import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  ImageRequirementsSchema, ImageSchema, ImageService, ImageTagSchema, ImageVersionSchema,
  type Image as ImageMessage, type ImageRequirements as RequirementsMessage, type ImageTag as TagMessage, type ImageVersion as VersionMessage,
} from "../../gen/edgehub/admin/v1/image_pb.js";
import { AUTHENTICATED, rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { scopeTenantFilter } from "../api/tenant-scope.js";
import { principalOf, requestIdOf } from "../api/request-context.js";
import type { Principal } from "../api/principal.js";
import type { CatalogCaller, CatalogDeps } from "./catalog-deps.js";
import { ARCHITECTURES, CATALOG_STATUSES, IMAGE_TYPES, VISIBILITIES, parseEnum, parseOptionalEnum } from "./catalog-vocabulary.js";
import { parsePage } from "./catalog-page.js";
import type { Image, ImageTag, ImageVersion } from "./image.js";
import { createImage, deleteImage, setImageRequirements, setImageStatus, updateImageFields } from "./image-operations.js";
import { checkImageVersionForInstance } from "./image-resolution.js";
import type { ImageRequirements } from "./image-requirements.js";
import { getImageRequirements } from "./image-requirements-store.js";
import { getVisibleImage, listImages } from "./image-store.js";
import { getImageVersion } from "./image-version-store.js";
import { imageVersionHandlers } from "./image-version-service.js";

const MANAGE = rolesAllowed("admin", "tenant_admin");

export const imageServicePolicy: ServicePolicy<typeof ImageService> = {
  createImage: MANAGE, getImage: AUTHENTICATED, listImages: AUTHENTICATED, updateImage: MANAGE, setImageStatus: MANAGE, deleteImage: MANAGE,
  publishImageVersion: MANAGE, getImageVersion: AUTHENTICATED, listImageVersions: AUTHENTICATED, deprecateImageVersion: MANAGE,
  archiveImageVersion: MANAGE, rollbackImage: MANAGE, setDefaultImageVersion: MANAGE, getImageVersionUsage: rolesAllowed("admin", "tenant_admin", "operator"),
  setImageTag: MANAGE, deleteImageTag: MANAGE, listImageTags: AUTHENTICATED, resolveImage: AUTHENTICATED,
  setImageRequirements: MANAGE, getImageRequirements: AUTHENTICATED, checkImageRequirements: AUTHENTICATED,
};

/** A list's tenant_id filter: empty means no filter (platform items included); another tenant's id is not_found for tenant-scoped callers. */
export function tenantFilter(p: Principal, requested: string): string | undefined {
  return requested === "" ? undefined : (scopeTenantFilter(p, requested) ?? undefined);
}

export function callerOf(ctx: HandlerContext): CatalogCaller {
  return { principal: principalOf(ctx), requestId: requestIdOf(ctx) };
}

export function imageMessage(i: Image): ImageMessage {
  return create(ImageSchema, {
    id: i.id, name: i.name, description: i.description, imageType: i.imageType, baseOs: i.baseOs, osVersion: i.osVersion,
    architecture: i.architecture, sizeGb: i.sizeGb, visibility: i.visibility, status: i.status, fileServerId: i.fileServerId,
    filePath: i.filePath, checksumMd5: i.checksumMd5, ownerId: i.ownerId, tenantId: i.tenantId ?? "",
    createdAt: timestampFromDate(i.createdAt), updatedAt: timestampFromDate(i.updatedAt), createdBy: i.createdBy ?? "", updatedBy: i.updatedBy ?? "",
  });
}

export function versionMessage(v: ImageVersion, tags: readonly ImageTag[] = []): VersionMessage {
  return create(ImageVersionSchema, {
    id: v.id, imageId: v.imageId, versionNumber: v.versionNumber, versionName: v.versionName, parentVersionId: v.parentVersionId ?? "",
    sizeGb: v.sizeGb, filePath: v.filePath, checksumMd5: v.checksumMd5, releaseNotes: v.releaseNotes, status: v.status,
    isLatest: v.isLatest, isDefault: v.isDefault, tags: tags.filter((t) => t.versionId === v.id).map((t) => t.tagName),
    ...(v.deprecatedAt ? { deprecatedAt: timestampFromDate(v.deprecatedAt) } : {}),
    ...(v.archivedAt ? { archivedAt: timestampFromDate(v.archivedAt) } : {}),
    createdAt: timestampFromDate(v.createdAt), createdBy: v.createdBy ?? "",
  });
}

export function tagMessage(t: ImageTag, versionNumber: string): TagMessage {
  return create(ImageTagSchema, {
    imageId: t.imageId, tagName: t.tagName, kind: t.kind, immutable: t.isImmutable, versionId: t.versionId, versionNumber,
    updatedAt: timestampFromDate(t.updatedAt),
  });
}

export function requirementsMessage(r: ImageRequirements): RequirementsMessage {
  return create(ImageRequirementsSchema, { ...r, hypervisorCompatibility: [...r.hypervisorCompatibility] });
}

export function requirementsFromMessage(m: RequirementsMessage | undefined): ImageRequirements {
  return {
    minCpuCores: m?.minCpuCores ?? 0, minMemoryGb: m?.minMemoryGb ?? 0, minStorageGb: m?.minStorageGb ?? 0,
    recommendedCpuCores: m?.recommendedCpuCores ?? 0, recommendedMemoryGb: m?.recommendedMemoryGb ?? 0,
    recommendedStorageGb: m?.recommendedStorageGb ?? 0, hypervisorCompatibility: [...(m?.hypervisorCompatibility ?? [])],
  };
}

export function createImageService(deps: CatalogDeps): ServiceImpl<typeof ImageService> {
  const { knex } = deps;
  return {
    async createImage(req, ctx) {
      const image = await createImage(deps, callerOf(ctx), {
        name: req.name, description: req.description, imageType: parseEnum("image_type", req.imageType, IMAGE_TYPES),
        baseOs: req.baseOs, osVersion: req.osVersion, architecture: parseEnum("architecture", req.architecture || "x86_64", ARCHITECTURES),
        sizeGb: req.sizeGb, visibility: parseEnum("visibility", req.visibility || "private", VISIBILITIES), fileServerId: req.fileServerId,
        filePath: req.filePath, checksumMd5: req.checksumMd5, tenantId: req.tenantId || null,
        ...(req.requirements ? { requirements: requirementsFromMessage(req.requirements) } : {}),
      });
      return { image: imageMessage(image) };
    },
    async getImage(req, ctx) {
      const image = await getVisibleImage(knex, req.id, principalOf(ctx));
      return { image: imageMessage(image), requirements: requirementsMessage(await getImageRequirements(knex, image.id)) };
    },
    async listImages(req, ctx) {
      const page = await listImages(knex, principalOf(ctx), {
        imageType: parseOptionalEnum("image_type", req.imageType, IMAGE_TYPES), baseOs: req.baseOs || undefined,
        visibility: parseOptionalEnum("visibility", req.visibility, VISIBILITIES), status: parseOptionalEnum("status", req.status, CATALOG_STATUSES),
        tenantId: tenantFilter(principalOf(ctx), req.tenantId),
      }, parsePage(req.pageSize, req.pageToken));
      return { images: page.items.map(imageMessage), nextPageToken: page.nextPageToken };
    },
    async updateImage(req, ctx) {
      const patch = {
        name: req.name, description: req.description, baseOs: req.baseOs, osVersion: req.osVersion, sizeGb: req.sizeGb,
        visibility: req.visibility === undefined ? undefined : parseEnum("visibility", req.visibility, VISIBILITIES),
        fileServerId: req.fileServerId, filePath: req.filePath, checksumMd5: req.checksumMd5,
      };
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      return { image: imageMessage(await updateImageFields(deps, callerOf(ctx), req.id, defined)) };
    },
    async setImageStatus(req, ctx) {
      return { image: imageMessage(await setImageStatus(deps, callerOf(ctx), req.id, parseEnum("status", req.status, CATALOG_STATUSES))) };
    },
    async deleteImage(req, ctx) {
      await deleteImage(deps, callerOf(ctx), req.id);
      return {};
    },
    async setImageRequirements(req, ctx) {
      const saved = await setImageRequirements(deps, callerOf(ctx), req.imageId, requirementsFromMessage(req.requirements));
      return { requirements: requirementsMessage(saved) };
    },
    async getImageRequirements(req, ctx) {
      const image = await getVisibleImage(knex, req.imageId, principalOf(ctx));
      return { requirements: requirementsMessage(await getImageRequirements(knex, image.id)) };
    },
    async checkImageRequirements(req, ctx) {
      const version = await getImageVersion(knex, req.imageVersionId);
      await getVisibleImage(knex, version.imageId, principalOf(ctx));
      const { image } = await checkImageVersionForInstance(knex, version.id, {
        cpuCores: req.cpuCores, memoryGb: req.memoryGb, storageGb: req.storageGb, ...(req.hypervisor ? { hypervisor: req.hypervisor } : {}),
      }, { newInstance: req.newInstance });
      return { requirements: requirementsMessage(await getImageRequirements(knex, image.id)) };
    },
    ...imageVersionHandlers(deps),
  };
}
