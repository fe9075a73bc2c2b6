import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { ImageService } from "../../gen/edgehub/admin/v1/image_pb.js";
import { callerOf } from "../api/caller.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import type { CatalogDeps } from "./catalog-deps.js";
import { IMAGE_VERSION_STATUS } from "./catalog-enums.js";
import { nameKeyedPage, versionKeyedPage } from "./catalog-requests.js";
import type { ImageVersion } from "./image.js";
import { imageMessage, tagMessage, versionMessage } from "./image-service.js";
import { resolveImageReference } from "./image-resolution.js";
import { getVisibleImage, getVisibleImageOfVersion } from "./image-store.js";
import { listTags, listTagsPage } from "./image-tag-store.js";
import { imageVersionUsage } from "./image-version-usage.js";
import {
  archiveImageVersion,
  deleteImageTag,
  deprecateImageVersion,
  publishImageVersion,
  rollbackImage,
  setDefaultImageVersion,
  setImageTag,
} from "./image-version-operations.js";
import { getImageVersion, listImageVersionsPage } from "./image-version-store.js";

type VersionMethods =
  | "publishImageVersion"
  | "getImageVersion"
  | "listImageVersions"
  | "deprecateImageVersion"
  | "archiveImageVersion"
  | "rollbackImage"
  | "setDefaultImageVersion"
  | "getImageVersionUsage"
  | "setImageTag"
  | "deleteImageTag"
  | "listImageTags"
  | "resolveImage";

/** The version, tag and usage half of ImageService (its policy is in image-service.ts). */
export function imageVersionHandlers(deps: CatalogDeps): Pick<ServiceImpl<typeof ImageService>, VersionMethods> {
  const { knex } = deps;
  const caller = (ctx: HandlerContext) => callerOf(ctx, deps.clock);
  /** A version id → its version, when the caller may see its image (else not_found). */
  async function visibleVersion(field: string, versionId: string, ctx: HandlerContext): Promise<ImageVersion> {
    const version = await getImageVersion(knex, requireId(field, versionId));
    await getVisibleImageOfVersion(knex, version, principalOf(ctx));
    return version;
  }
  async function withTags(version: ImageVersion) {
    return versionMessage(version, await listTags(knex, version.imageId, [version.id]));
  }
  return {
    async publishImageVersion(req, ctx) {
      const version = await publishImageVersion(deps, caller(ctx), requireId("image_id", req.imageId), {
        versionNumber: req.versionNumber,
        versionName: req.versionName,
        parentVersionId: optionalId("parent_version_id", req.parentVersionId),
        sizeGb: req.sizeGb,
        filePath: req.filePath,
        checksumMd5: req.checksumMd5,
        releaseNotes: req.releaseNotes,
        makeLatest: req.makeLatest,
        makeDefault: req.makeDefault,
      });
      return { version: await withTags(version) };
    },
    async getImageVersion(req, ctx) {
      return { version: await withTags(await visibleVersion("id", req.id, ctx)) };
    },
    async listImageVersions(req, ctx) {
      const image = await getVisibleImage(knex, requireId("image_id", req.imageId), principalOf(ctx));
      const status = IMAGE_VERSION_STATUS.toDbFilter("status", req.status);
      const page = await listImageVersionsPage(knex, image.id, status, versionKeyedPage(req.pageSize, req.pageToken));
      const tags = await listTags(
        knex,
        image.id,
        page.items.map((v) => v.id),
      );
      return { versions: page.items.map((v) => versionMessage(v, tags)), nextPageToken: page.nextPageToken };
    },
    async deprecateImageVersion(req, ctx) {
      const { id, imageId } = await visibleVersion("id", req.id, ctx);
      const { version, droppedTags } = await deprecateImageVersion(deps, caller(ctx), imageId, id);
      return { version: await withTags(version), removedTags: droppedTags };
    },
    async archiveImageVersion(req, ctx) {
      const { id, imageId } = await visibleVersion("id", req.id, ctx);
      return { version: await withTags(await archiveImageVersion(deps, caller(ctx), imageId, id)) };
    },
    async rollbackImage(req, ctx) {
      const { latest, deprecated } = await rollbackImage(
        deps,
        caller(ctx),
        requireId("image_id", req.imageId),
        requireId("to_version_id", req.toVersionId),
      );
      return { latest: await withTags(latest), deprecated: await withTags(deprecated) };
    },
    async setDefaultImageVersion(req, ctx) {
      const { id, imageId } = await visibleVersion("id", req.id, ctx);
      return { version: await withTags(await setDefaultImageVersion(deps, caller(ctx), imageId, id)) };
    },
    async getImageVersionUsage(req, ctx) {
      const image = await getVisibleImage(knex, requireId("image_id", req.imageId), principalOf(ctx));
      const usage = await imageVersionUsage(knex, image.id);
      return { versions: usage.map((u) => ({ ...u, status: IMAGE_VERSION_STATUS.fromDb(u.status) })) };
    },
    async setImageTag(req, ctx) {
      const tag = await setImageTag(
        deps,
        caller(ctx),
        requireId("image_id", req.imageId),
        req.tagName,
        requireId("version_id", req.versionId),
      );
      const version = await getImageVersion(knex, tag.versionId);
      return { tag: tagMessage(tag, version.versionNumber) };
    },
    async deleteImageTag(req, ctx) {
      await deleteImageTag(deps, caller(ctx), requireId("image_id", req.imageId), req.tagName);
      return {};
    },
    async listImageTags(req, ctx) {
      const image = await getVisibleImage(knex, requireId("image_id", req.imageId), principalOf(ctx));
      const page = await listTagsPage(knex, image.id, nameKeyedPage(req.pageSize, req.pageToken));
      return { tags: page.items.map((x) => tagMessage(x.tag, x.versionNumber)), nextPageToken: page.nextPageToken };
    },
    async resolveImage(req, ctx) {
      const { image, version, tag } = await resolveImageReference(knex, principalOf(ctx), req.reference);
      return { image: imageMessage(image), version: await withTags(version), tag };
    },
  };
}
