import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import type { CatalogDeps } from "./catalog-deps.js";
import type { Image, ImageTag, ImageVersion } from "./image.js";
import { imageForManagement } from "./image-operations.js";
import {
  LATEST_TAG,
  assertTagMovable,
  assertTagTarget,
  refuseNewVersionTag,
  validateTagName,
} from "./image-tag-rules.js";
import { dropMutableTagsOf, findTagForUpdate, insertTag, repointTag, softDeleteTag } from "./image-tag-store.js";
import { validateChecksum, validateSize } from "./image-validation.js";
import { instancesUsingVersion } from "./image-version-usage.js";
import { assertArchivable, assertRollbackTarget } from "./image-version-rules.js";
import {
  findImageVersionByNumber,
  getImageVersion,
  insertImageVersion,
  listImageVersions,
  moveVersionFlag,
  setImageVersionStatus,
} from "./image-version-store.js";
import { bumpPatch, parseSemver } from "./semver.js";

export const FIRST_IMAGE_VERSION = "v1.0.0";

export interface PublishVersionInput {
  /** Empty: the patch after the highest existing version (v1.0.0 for the first). */
  versionNumber: string;
  versionName: string;
  parentVersionId: string | null;
  sizeGb: number;
  filePath: string;
  checksumMd5: string;
  releaseNotes: string;
  /** Move `latest` (and is_latest) to the new version. The first version of an image always becomes latest and default. */
  makeLatest: boolean;
  makeDefault: boolean;
}

type Audit = { action: string; before?: unknown; after?: unknown };

async function audited<T>(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  fn: (trx: Knex.Transaction, image: Image, now: Date) => Promise<{ result: T; audit: Audit }>,
): Promise<T> {
  return deps.knex.transaction(async (trx) => {
    // Locking the image serialises every version and tag change of that image.
    const image = await imageForManagement(trx, caller, imageId);
    const { result, audit } = await fn(trx, image, caller.at);
    await recordChange(trx, caller, { tenantId: image.tenantId, targetType: "image", targetId: imageId, ...audit });
    return result;
  });
}

/** Points `tagName` at `version`, creating the tag if needed; keeps is_latest in step with the `latest` tag. */
async function pointTag(
  trx: Knex.Transaction,
  image: Image,
  tagName: string,
  version: ImageVersion,
  actorId: string,
  now: Date,
): Promise<ImageTag> {
  const existing = await findTagForUpdate(trx, image.id, tagName);
  let tag: ImageTag;
  if (existing) {
    assertTagMovable(existing, version.id);
    tag = existing.versionId === version.id ? existing : await repointTag(trx, existing.id, version.id, actorId, now);
  } else {
    tag = await insertTag(trx, {
      id: newId(),
      imageId: image.id,
      versionId: version.id,
      tagName,
      kind: validateTagName("tag_name", tagName),
      actorId,
      now,
    });
  }
  if (tagName === LATEST_TAG) await moveVersionFlag(trx, image.id, "is_latest", version.id, now);
  return tag;
}

/** 000 §6.4.3 "发布新版本": the version, its immutable version tag, and optionally `latest`. */
export async function publishImageVersion(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  input: PublishVersionInput,
): Promise<ImageVersion> {
  const requested = input.versionNumber === "" ? undefined : parseSemver("version_number", input.versionNumber);
  validateSize("size_gb", input.sizeGb);
  validateChecksum("checksum_md5", input.checksumMd5);
  if (input.versionName.length > 100) throw new InvalidArgumentError("version_name", "is longer than 100 characters");
  return audited(deps, caller, imageId, async (trx, image, now) => {
    if (image.status !== "active") {
      throw new FailedPreconditionError(
        `Cannot publish a version of image ${image.name}: the image is ${image.status}`,
        { reason: "IMAGE_NOT_ACTIVE", metadata: { status: image.status } },
      );
    }
    const existing = await listImageVersions(trx, imageId);
    // 000 §6.4.3 "自动递增版本号（或用户指定）": no number means the patch after the highest one.
    const version =
      requested ??
      (existing[0]
        ? bumpPatch(parseSemver("version_number", existing[0].versionNumber))
        : parseSemver("version_number", FIRST_IMAGE_VERSION));
    if (await findImageVersionByNumber(trx, imageId, version.text))
      throw new AlreadyExistsError("image version", `image ${image.name} already has version ${version.text}`);
    if (input.parentVersionId !== null) {
      await getImageVersion(trx, input.parentVersionId, { imageId }).catch((err: unknown) => {
        if (err instanceof NotFoundError)
          throw new InvalidArgumentError(
            "parent_version_id",
            `${input.parentVersionId} is not a version of image ${image.name}`,
          );
        throw err;
      });
    }
    const first = existing.length === 0;
    const actorId = caller.principal.userId;
    let created = await insertImageVersion(trx, {
      id: newId(),
      imageId,
      version,
      versionName: input.versionName,
      parentVersionId: input.parentVersionId,
      sizeGb: input.sizeGb,
      filePath: input.filePath,
      checksumMd5: input.checksumMd5,
      releaseNotes: input.releaseNotes,
      actorId,
      now,
    });
    await insertTag(trx, {
      id: newId(),
      imageId,
      versionId: created.id,
      tagName: version.text,
      kind: "version",
      actorId,
      now,
    });
    if (input.makeLatest || first) await pointTag(trx, image, LATEST_TAG, created, actorId, now);
    if (input.makeDefault || first) await moveVersionFlag(trx, imageId, "is_default", created.id, now);
    created = await getImageVersion(trx, created.id);
    return { result: created, audit: { action: "image.publish_version", after: created } };
  });
}

/** Sets a system or custom tag (re-pointing it if it exists); version tags only "move" to where they already point. */
export async function setImageTag(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  tagName: string,
  versionId: string,
): Promise<ImageTag> {
  const kind = validateTagName("tag_name", tagName);
  return audited(deps, caller, imageId, async (trx, image, now) => {
    const version = await getImageVersion(trx, versionId, { imageId });
    const existing = await findTagForUpdate(trx, imageId, tagName);
    if (kind === "version") {
      if (!existing) refuseNewVersionTag("tag_name", tagName);
      assertTagMovable(existing, version.id);
    }
    assertTagTarget(tagName, version);
    const tag = await pointTag(trx, image, tagName, version, caller.principal.userId, now);
    return {
      result: tag,
      audit: {
        action: "image.set_tag",
        before: existing ? { tag: tagName, versionId: existing.versionId } : undefined,
        after: { tag: tagName, versionId },
      },
    };
  });
}

export async function deleteImageTag(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  tagName: string,
): Promise<void> {
  validateTagName("tag_name", tagName);
  await audited(deps, caller, imageId, async (trx, _image, now) => {
    const existing = await findTagForUpdate(trx, imageId, tagName);
    if (!existing) throw new NotFoundError("image tag", tagName);
    assertTagMovable(existing, null);
    await softDeleteTag(trx, existing.id, caller.principal.userId, now);
    if (tagName === LATEST_TAG) await moveVersionFlag(trx, imageId, "is_latest", null, now);
    return {
      result: undefined,
      audit: { action: "image.delete_tag", before: { tag: tagName, versionId: existing.versionId } },
    };
  });
}

/** Deprecates inside an open transaction: status, deprecated_at, and every mutable tag on it removed. */
async function deprecateIn(
  trx: Knex.Transaction,
  version: ImageVersion,
  actorId: string,
  now: Date,
): Promise<{ version: ImageVersion; droppedTags: string[] }> {
  const droppedTags = await dropMutableTagsOf(trx, version.id, actorId, now);
  return { version: await setImageVersionStatus(trx, version.id, "deprecated", actorId, now), droppedTags };
}

/** 000 §6.4.3 "版本废弃": new instances are refused (image-version-usage.ts); running ones keep it. */
export async function deprecateImageVersion(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  versionId: string,
): Promise<{ version: ImageVersion; droppedTags: string[] }> {
  return audited(deps, caller, imageId, async (trx, _image, now) => {
    const version = await getImageVersion(trx, versionId, { imageId, forUpdate: true });
    if (version.status === "archived") {
      throw new FailedPreconditionError(`Cannot deprecate image version ${version.versionNumber}: it is archived`, {
        reason: "VERSION_ARCHIVED",
        metadata: { image_version_id: versionId },
      });
    }
    if (version.status === "deprecated")
      return {
        result: { version, droppedTags: [] },
        audit: { action: "image.deprecate_version", after: { versionId, unchanged: true } },
      };
    const result = await deprecateIn(trx, version, caller.principal.userId, now);
    return {
      result,
      audit: {
        action: "image.deprecate_version",
        before: { versionId, status: version.status },
        after: { versionId, status: "deprecated", droppedTags: result.droppedTags },
      },
    };
  });
}

/** 000 §6.4.3 "版本回滚": `latest` moves back to `toVersionId` and the version it left is deprecated. */
export async function rollbackImage(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  toVersionId: string,
): Promise<{ latest: ImageVersion; deprecated: ImageVersion }> {
  return audited(deps, caller, imageId, async (trx, image, now) => {
    const target = await getImageVersion(trx, toVersionId, { imageId, forUpdate: true });
    const current = (await listImageVersions(trx, imageId)).find((v) => v.isLatest);
    assertRollbackTarget(current, target);
    const actorId = caller.principal.userId;
    await pointTag(trx, image, LATEST_TAG, target, actorId, now);
    const { version: deprecated } = await deprecateIn(trx, current!, actorId, now);
    const latest = await getImageVersion(trx, target.id);
    return {
      result: { latest, deprecated },
      audit: {
        action: "image.rollback",
        before: { latest: current!.versionNumber },
        after: { latest: latest.versionNumber, deprecated: deprecated.versionNumber },
      },
    };
  });
}

/** 000 §6.4.3 "版本归档": deprecated, unused, deprecated ≥ 6 months; the row (metadata) stays. */
export async function archiveImageVersion(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  versionId: string,
): Promise<ImageVersion> {
  return audited(deps, caller, imageId, async (trx, _image, now) => {
    // FOR UPDATE here against FOR SHARE in recordImageVersionUse: no instance can start using it meanwhile.
    const version = await getImageVersion(trx, versionId, { imageId, forUpdate: true });
    assertArchivable(version, await instancesUsingVersion(trx, versionId), now);
    const archived = await setImageVersionStatus(trx, versionId, "archived", caller.principal.userId, now);
    return {
      result: archived,
      audit: {
        action: "image.archive_version",
        before: { status: version.status },
        after: { status: "archived", versionId },
      },
    };
  });
}

/** The version used when an instance names none (template-use.ts); only an active version can be the default. */
export async function setDefaultImageVersion(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  versionId: string,
): Promise<ImageVersion> {
  return audited(deps, caller, imageId, async (trx, _image, now) => {
    const version = await getImageVersion(trx, versionId, { imageId, forUpdate: true });
    if (version.status !== "active") {
      throw new FailedPreconditionError(
        `Cannot make image version ${version.versionNumber} the default: it is ${version.status}`,
        { reason: "VERSION_NOT_ACTIVE", metadata: { status: version.status } },
      );
    }
    const before = (await listImageVersions(trx, imageId)).find((v) => v.isDefault);
    await moveVersionFlag(trx, imageId, "is_default", versionId, now);
    return {
      result: await getImageVersion(trx, versionId),
      audit: {
        action: "image.set_default_version",
        before: { default: before?.versionNumber ?? null },
        after: { default: version.versionNumber },
      },
    };
  });
}
