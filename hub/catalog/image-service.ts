import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  ImageRequirementsSchema,
  ImageSchema,
  ImageService,
  ImageTagSchema,
  ImageVersionSchema,
  RequirementShortfallSchema,
  RequirementsNotMetSchema,
  type Image as ImageMessage,
  type ImageRequirements as RequirementsMessage,
  type ImageTag as TagMessage,
  type ImageVersion as VersionMessage,
  type RequirementShortfall as ShortfallMessage,
} from "../../gen/edgehub/admin/v1/image_pb.js";
import { callerOf } from "../api/caller.js";
import { registerErrorDetail } from "../api/error-details.js";
import { etagOf } from "../api/etag.js";
import { updatePaths } from "../api/field-mask.js";
import { AUTHENTICATED, rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { InvalidArgumentError } from "../domain/errors.js";
import type { CatalogDeps } from "./catalog-deps.js";
import {
  ARCHITECTURE,
  HYPERVISOR,
  IMAGE_CONTENT_FORMAT,
  IMAGE_STATUS,
  IMAGE_TYPE,
  IMAGE_VERSION_STATUS,
  IMAGE_VISIBILITY,
  REQUIREMENT_DIMENSION,
  TAG_KIND,
  type CatalogStatus,
} from "./catalog-enums.js";
import { idKeyedPage, tenantFilter } from "./catalog-requests.js";
import type { Image, ImageTag, ImageVersion } from "./image.js";
import {
  changeImageStatus,
  createImage,
  deleteImage,
  setImageRequirements,
  updateImageFields,
} from "./image-operations.js";
import {
  ImageRequirementsNotMetError,
  type ImageRequirements,
  type RequirementShortfall,
} from "./image-requirements.js";
import { getImageRequirements } from "./image-requirements-store.js";
import { imageRequirementsVerdict } from "./image-resolution.js";
import { getVisibleImage, getVisibleImageOfVersion, listImages, type ImageFields } from "./image-store.js";
import { getImageVersion } from "./image-version-store.js";
import { imageVersionHandlers } from "./image-version-service.js";

// ---- image domain objects ⇄ wire messages (image-version-service.ts uses them too) ----

const time = (d: Date | null) => (d ? timestampFromDate(d) : undefined);

export function imageMessage(i: Image): ImageMessage {
  return create(ImageSchema, {
    id: i.id,
    name: i.name,
    description: i.description,
    imageType: IMAGE_TYPE.fromDb(i.imageType),
    baseOs: i.baseOs,
    osVersion: i.osVersion,
    architecture: ARCHITECTURE.fromDb(i.architecture),
    sizeGb: i.sizeGb,
    visibility: IMAGE_VISIBILITY.fromDb(i.visibility),
    status: IMAGE_STATUS.fromDb(i.status),
    fileServerId: i.fileServerId,
    filePath: i.filePath,
    checksumMd5: i.checksumMd5,
    ownerId: i.ownerId,
    tenantId: i.tenantId ?? "",
    createTime: time(i.createdAt),
    updateTime: time(i.updatedAt),
    creatorId: i.createdBy ?? "",
    updaterId: i.updatedBy ?? "",
    etag: etagOf(i),
  });
}

/** `tags` may hold tags of other versions too; only this version's are shown. */
export function versionMessage(v: ImageVersion, tags: readonly ImageTag[] = []): VersionMessage {
  return create(ImageVersionSchema, {
    id: v.id,
    imageId: v.imageId,
    versionNumber: v.versionNumber,
    versionName: v.versionName,
    parentVersionId: v.parentVersionId ?? "",
    sizeGb: v.sizeGb,
    filePath: v.filePath,
    checksumMd5: v.checksumMd5,
    releaseNotes: v.releaseNotes,
    status: IMAGE_VERSION_STATUS.fromDb(v.status),
    isLatest: v.isLatest,
    isDefault: v.isDefault,
    tags: tags.filter((t) => t.versionId === v.id).map((t) => t.tagName),
    deprecateTime: time(v.deprecatedAt),
    archiveTime: time(v.archivedAt),
    createTime: time(v.createdAt),
    creatorId: v.createdBy ?? "",
    updateTime: time(v.updatedAt),
    etag: etagOf(v),
    contentSha256: v.content?.sha256 ?? "",
    contentSizeBytes: BigInt(v.content?.sizeBytes ?? 0),
    contentFormat: v.content ? IMAGE_CONTENT_FORMAT.fromDb(v.content.format) : 0,
    contentUploadTime: time(v.content?.uploadedAt ?? null),
  });
}

export function tagMessage(t: ImageTag, versionNumber: string): TagMessage {
  return create(ImageTagSchema, {
    id: t.id,
    imageId: t.imageId,
    tagName: t.tagName,
    kind: TAG_KIND.fromDb(t.kind),
    immutable: t.isImmutable,
    versionId: t.versionId,
    versionNumber,
    createTime: time(t.createdAt),
    updateTime: time(t.updatedAt),
    etag: etagOf(t),
  });
}

export function requirementsMessage(r: ImageRequirements): RequirementsMessage {
  return create(ImageRequirementsSchema, {
    ...r,
    hypervisorCompatibility: r.hypervisorCompatibility.map((h) => HYPERVISOR.fromDb(h)),
  });
}

/** `field` is the request field holding the requirements; zero values mean "no requirement". */
export function requirementsFromMessage(m: RequirementsMessage | undefined, field: string): ImageRequirements {
  return {
    minCpuCores: m?.minCpuCores ?? 0,
    minMemoryGb: m?.minMemoryGb ?? 0,
    minStorageGb: m?.minStorageGb ?? 0,
    recommendedCpuCores: m?.recommendedCpuCores ?? 0,
    recommendedMemoryGb: m?.recommendedMemoryGb ?? 0,
    recommendedStorageGb: m?.recommendedStorageGb ?? 0,
    hypervisorCompatibility: (m?.hypervisorCompatibility ?? []).map((h, i) =>
      HYPERVISOR.toDb(`${field}.hypervisor_compatibility[${i}]`, h),
    ),
  };
}

export function shortfallMessage(s: RequirementShortfall): ShortfallMessage {
  const dimension = REQUIREMENT_DIMENSION.fromDb(s.dimension);
  if (s.dimension === "hypervisor") {
    return create(RequirementShortfallSchema, {
      dimension,
      requestedHypervisor: HYPERVISOR.fromDb(s.requested),
      supportedHypervisors: s.supported.map((h) => HYPERVISOR.fromDb(h)),
    });
  }
  return create(RequirementShortfallSchema, {
    dimension,
    requested: s.requested,
    minimum: s.minimum,
    recommended: s.recommended,
  });
}

const MANAGE = rolesAllowed("admin", "tenant_admin");

export const imageServicePolicy: ServicePolicy<typeof ImageService> = {
  createImage: MANAGE,
  getImage: AUTHENTICATED,
  listImages: AUTHENTICATED,
  updateImage: MANAGE,
  deprecateImage: MANAGE,
  activateImage: MANAGE,
  archiveImage: MANAGE,
  deleteImage: MANAGE,
  publishImageVersion: MANAGE,
  getImageVersion: AUTHENTICATED,
  listImageVersions: AUTHENTICATED,
  deprecateImageVersion: MANAGE,
  archiveImageVersion: MANAGE,
  rollbackImage: MANAGE,
  setDefaultImageVersion: MANAGE,
  getImageVersionUsage: rolesAllowed("admin", "tenant_admin", "operator"),
  setImageTag: MANAGE,
  deleteImageTag: MANAGE,
  listImageTags: AUTHENTICATED,
  resolveImage: AUTHENTICATED,
  setImageRequirements: MANAGE,
  getImageRequirements: AUTHENTICATED,
  checkImageRequirements: AUTHENTICATED,
};

// Instance creation (another feature) refuses short specs with this error; clients get the shortfalls typed.
registerErrorDetail(ImageRequirementsNotMetError, (err) => [
  {
    desc: RequirementsNotMetSchema,
    value: create(RequirementsNotMetSchema, {
      imageVersionId: err.imageVersionId,
      shortfalls: err.shortfalls.map(shortfallMessage),
    }),
  },
]);

const UPDATABLE = [
  "name",
  "description",
  "base_os",
  "os_version",
  "size_gb",
  "visibility",
  "file_server_id",
  "file_path",
  "checksum_md5",
] as const;

/** The masked fields of an UpdateImage request, as domain values. */
function imagePatch(i: ImageMessage, paths: ReadonlySet<(typeof UPDATABLE)[number]>): Partial<ImageFields> {
  const patch: Partial<ImageFields> = {};
  for (const path of paths) {
    switch (path) {
      case "name":
        patch.name = i.name;
        break;
      case "description":
        patch.description = i.description;
        break;
      case "base_os":
        patch.baseOs = i.baseOs;
        break;
      case "os_version":
        patch.osVersion = i.osVersion;
        break;
      case "size_gb":
        patch.sizeGb = i.sizeGb;
        break;
      case "visibility":
        patch.visibility = IMAGE_VISIBILITY.toDb("image.visibility", i.visibility);
        break;
      case "file_server_id":
        patch.fileServerId = i.fileServerId;
        break;
      case "file_path":
        patch.filePath = i.filePath;
        break;
      case "checksum_md5":
        patch.checksumMd5 = i.checksumMd5;
        break;
    }
  }
  return patch;
}

export function createImageService(deps: CatalogDeps): ServiceImpl<typeof ImageService> {
  const { knex } = deps;
  const caller = (ctx: HandlerContext) => callerOf(ctx, deps.clock);
  const status = async (id: string, ctx: HandlerContext, to: CatalogStatus) => ({
    image: imageMessage(await changeImageStatus(deps, caller(ctx), requireId("id", id), to)),
  });
  return {
    async createImage(req, ctx) {
      const i = req.image ?? create(ImageSchema);
      const image = await createImage(deps, caller(ctx), {
        name: i.name,
        description: i.description,
        imageType: IMAGE_TYPE.toDb("image.image_type", i.imageType),
        baseOs: i.baseOs,
        osVersion: i.osVersion,
        architecture: i.architecture === 0 ? "x86_64" : ARCHITECTURE.toDb("image.architecture", i.architecture),
        sizeGb: i.sizeGb,
        visibility: i.visibility === 0 ? "private" : IMAGE_VISIBILITY.toDb("image.visibility", i.visibility),
        fileServerId: i.fileServerId,
        filePath: i.filePath,
        checksumMd5: i.checksumMd5,
        tenantId: optionalId("image.tenant_id", i.tenantId),
        ...(req.requirements ? { requirements: requirementsFromMessage(req.requirements, "requirements") } : {}),
      });
      return { image: imageMessage(image) };
    },
    async getImage(req, ctx) {
      const image = await getVisibleImage(knex, requireId("id", req.id), principalOf(ctx));
      return {
        image: imageMessage(image),
        requirements: requirementsMessage(await getImageRequirements(knex, image.id)),
      };
    },
    async listImages(req, ctx) {
      const page = await listImages(
        knex,
        principalOf(ctx),
        {
          imageType: IMAGE_TYPE.toDbFilter("image_type", req.imageType) ?? undefined,
          baseOs: req.baseOs || undefined,
          visibility: IMAGE_VISIBILITY.toDbFilter("visibility", req.visibility) ?? undefined,
          status: IMAGE_STATUS.toDbFilter("status", req.status) ?? undefined,
          tenantId: tenantFilter(principalOf(ctx), req.tenantId),
        },
        idKeyedPage(req.pageSize, req.pageToken),
      );
      return { images: page.items.map(imageMessage), nextPageToken: page.nextPageToken };
    },
    async updateImage(req, ctx) {
      if (!req.image) throw new InvalidArgumentError("image", "is required");
      const id = requireId("image.id", req.image.id);
      const patch = imagePatch(req.image, updatePaths(req.updateMask, UPDATABLE));
      return { image: imageMessage(await updateImageFields(deps, caller(ctx), id, patch, req.image.etag)) };
    },
    deprecateImage: (req, ctx) => status(req.id, ctx, "deprecated"),
    activateImage: (req, ctx) => status(req.id, ctx, "active"),
    archiveImage: (req, ctx) => status(req.id, ctx, "archived"),
    async deleteImage(req, ctx) {
      await deleteImage(deps, caller(ctx), requireId("id", req.id));
      return {};
    },
    async setImageRequirements(req, ctx) {
      const imageId = requireId("image_id", req.imageId);
      const saved = await setImageRequirements(
        deps,
        caller(ctx),
        imageId,
        requirementsFromMessage(req.requirements, "requirements"),
      );
      return { requirements: requirementsMessage(saved) };
    },
    async getImageRequirements(req, ctx) {
      const image = await getVisibleImage(knex, requireId("image_id", req.imageId), principalOf(ctx));
      return { requirements: requirementsMessage(await getImageRequirements(knex, image.id)) };
    },
    async checkImageRequirements(req, ctx) {
      const version = await getImageVersion(knex, requireId("image_version_id", req.imageVersionId));
      await getVisibleImageOfVersion(knex, version, principalOf(ctx));
      const hypervisor = HYPERVISOR.toDbFilter("hypervisor", req.hypervisor);
      const verdict = await imageRequirementsVerdict(
        knex,
        version.id,
        {
          cpuCores: req.cpuCores,
          memoryGb: req.memoryGb,
          storageGb: req.storageGb,
          ...(hypervisor ? { hypervisor } : {}),
        },
        { newInstance: req.newInstance },
      );
      return {
        met: verdict.shortfalls.length === 0,
        shortfalls: verdict.shortfalls.map(shortfallMessage),
        requirements: requirementsMessage(verdict.requirements),
      };
    },
    ...imageVersionHandlers(deps),
  };
}
