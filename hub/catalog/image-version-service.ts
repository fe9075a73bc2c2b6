import type { ServiceImpl } from "@connectrpc/connect";
import type { ImageService } from "../../gen/edgehub/admin/v1/image_pb.js";
import { principalOf } from "../api/request-context.js";
import type { CatalogDeps } from "./catalog-deps.js";
import { CATALOG_STATUSES, parseOptionalEnum } from "./catalog-vocabulary.js";
import { callerOf, imageMessage, tagMessage, versionMessage } from "./image-service.js";
import { resolveImageReference } from "./image-resolution.js";
import { getVisibleImage } from "./image-store.js";
import { listTags } from "./image-tag-store.js";
import { imageVersionUsage } from "./image-version-usage.js";
import {
  archiveImageVersion, deleteImageTag, deprecateImageVersion, publishImageVersion, rollbackImage, setDefaultImageVersion, setImageTag,
} from "./image-version-operations.js";
import { getImageVersion, listImageVersions } from "./image-version-store.js";

type VersionMethods = "publishImageVersion" | "getImageVersion" | "listImageVersions" | "deprecateImageVersion" | "archiveImageVersion"
  | "rollbackImage" | "setDefaultImageVersion" | "getImageVersionUsage" | "setImageTag" | "deleteImageTag" | "listImageTags" | "resolveImage";

/** The version, tag and usage half of ImageService (its policy is in image-service.ts). */
export function imageVersionHandlers(deps: CatalogDeps): Pick<ServiceImpl<typeof ImageService>, VersionMethods> {
  const { knex } = deps;
  /** A version id → its version and image, as the caller may see them (else not_found). */
  async function visibleVersion(versionId: string, ctx: Parameters<ServiceImpl<typeof ImageService>["getImageVersion"]>[1]) {
    const version = await getImageVersion(knex, versionId);
    await getVisibleImage(knex, version.imageId, principalOf(ctx));
    return version;
  }
  async function withTags(version: Awaited<ReturnType<typeof getImageVersion>>) {
    return versionMessage(version, await listTags(knex, version.imageId, version.id));
  }
  return {
    async publishImageVersion(req, ctx) {
      const version = await publishImageVersion(deps, callerOf(ctx), req.imageId, {
        versionNumber: req.versionNumber, versionName: req.versionName, parentVersionId: req.parentVersionId || null, sizeGb: req.sizeGb,
        filePath: req.filePath, checksumMd5: req.checksumMd5, releaseNotes: req.releaseNotes, makeLatest: req.makeLatest, makeDefault: req.makeDefault,
      });
      return { version: await withTags(version) };
    },
    async getImageVersion(req, ctx) {
      return { version: await withTags(await visibleVersion(req.id, ctx)) };
    },
    async listImageVersions(req, ctx) {
      const image = await getVisibleImage(knex, req.imageId, principalOf(ctx));
      const [versions, tags] = await Promise.all([listImageVersions(knex, image.id, parseOptionalEnum("status", req.status, CATALOG_STATUSES)), listTags(knex, image.id)]);
      return { versions: versions.map((v) => versionMessage(v, tags)) };
    },
    async deprecateImageVersion(req, ctx) {
      const { imageId } = await visibleVersion(req.id, ctx);
      const { version, droppedTags } = await deprecateImageVersion(deps, callerOf(ctx), imageId, req.id);
      return { version: await withTags(version), removedTags: droppedTags };
    },
    async archiveImageVersion(req, ctx) {
      const { imageId } = await visibleVersion(req.id, ctx);
      return { version: await withTags(await archiveImageVersion(deps, callerOf(ctx), imageId, req.id)) };
    },
    async rollbackImage(req, ctx) {
      const { latest, deprecated } = await rollbackImage(deps, callerOf(ctx), req.imageId, req.toVersionId);
      return { latest: await withTags(latest), deprecated: await withTags(deprecated) };
    },
    async setDefaultImageVersion(req, ctx) {
      const { imageId } = await visibleVersion(req.id, ctx);
      return { version: await withTags(await setDefaultImageVersion(deps, callerOf(ctx), imageId, req.id)) };
    },
    async getImageVersionUsage(req, ctx) {
      const image = await getVisibleImage(knex, req.imageId, principalOf(ctx));
      return { versions: await imageVersionUsage(knex, image.id) };
    },
    async setImageTag(req, ctx) {
      const tag = await setImageTag(deps, callerOf(ctx), req.imageId, req.tagName, req.versionId);
      const version = await getImageVersion(knex, tag.versionId);
      return { tag: tagMessage(tag, version.versionNumber) };
    },
    async deleteImageTag(req, ctx) {
      await deleteImageTag(deps, callerOf(ctx), req.imageId, req.tagName);
      return {};
    },
    async listImageTags(req, ctx) {
      const image = await getVisibleImage(knex, req.imageId, principalOf(ctx));
      const [tags, versions] = await Promise.all([listTags(knex, image.id), listImageVersions(knex, image.id)]);
      const numbers = new Map(versions.map((v) => [v.id, v.versionNumber]));
      return { tags: tags.map((t) => tagMessage(t, numbers.get(t.versionId) ?? "")) };
    },
    async resolveImage(req, ctx) {
      const { image, version, tag } = await resolveImageReference(knex, principalOf(ctx), req.reference);
      return { image: imageMessage(image), version: await withTags(version), tag };
    },
  };
}
