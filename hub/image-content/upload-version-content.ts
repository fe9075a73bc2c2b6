import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { canManageCatalogItem } from "../catalog/catalog-access.js";
import { imageForManagement } from "../catalog/image-operations.js";
import { getVisibleImage } from "../catalog/image-store.js";
import { FailedPreconditionError, InvalidArgumentError, PermissionDeniedError } from "../domain/errors.js";
import { SHA256_HEX, type ImageContentStore } from "./image-content-store.js";
import { checkFormatMagic } from "./content-format-check.js";
import {
  CONTENT_FORMATS,
  getVersionContent,
  setVersionContent,
  type ContentFormat,
  type VersionContent,
  type VersionContentRow,
} from "./version-content-store.js";

export interface UploadDeps {
  knex: Knex;
  clock: Clock;
  store: ImageContentStore;
  /** Largest image accepted, in bytes. */
  maxBytes: number;
}

export interface UploadInput {
  versionId: string;
  /** Declared lower-case hex sha256 of the body. */
  sha256: string;
  format: string;
  body: AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
}

/** Whether `version` may take content `sha256`: not archived, and content never changes once set. */
function assertAcceptsContent(version: VersionContentRow, sha256: string): void {
  if (version.status === "archived")
    throw new FailedPreconditionError(`Cannot upload content for image version ${version.versionId}: it is archived`, {
      reason: "VERSION_ARCHIVED",
      metadata: { image_version_id: version.versionId },
    });
  if (version.content && version.content.sha256 !== sha256)
    throw new FailedPreconditionError(
      `Image version ${version.versionId} already has content ${version.content.sha256}; content never changes once uploaded (publish a new version instead)`,
      {
        reason: "VERSION_CONTENT_IMMUTABLE",
        metadata: { image_version_id: version.versionId, content_sha256: version.content.sha256 },
      },
    );
}

/**
 * Stores an image version's bytes and records them on the version: the body is verified (sha256,
 * size limit, format magic) into the content store, then the version row and its audit row are
 * written in one transaction. A refused body leaves neither store nor row changed; an identical
 * re-upload is a no-op that answers `created: false`.
 */
export async function uploadVersionContent(
  deps: UploadDeps,
  caller: Caller,
  input: UploadInput,
): Promise<{ content: VersionContent; created: boolean }> {
  const sha256 = input.sha256.trim().toLowerCase();
  if (!SHA256_HEX.test(sha256)) throw new InvalidArgumentError("sha256", "must be 64 hex digits");
  if (!(CONTENT_FORMATS as readonly string[]).includes(input.format))
    throw new InvalidArgumentError("format", `must be one of ${CONTENT_FORMATS.join(", ")}, got "${input.format}"`);
  const format = input.format as ContentFormat;

  // Refuse before reading a byte what the locked check below would refuse anyway.
  const before = await getVersionContent(deps.knex, input.versionId);
  const image = await getVisibleImage(deps.knex, before.imageId, caller.principal);
  if (!canManageCatalogItem(caller.principal, image))
    throw new PermissionDeniedError(
      `Cannot upload content for image ${image.id}: only an admin or the image's tenant_admin may`,
    );
  assertAcceptsContent(before, sha256);

  const stored = await deps.store.put(
    checkFormatMagic(input.body, format),
    { sha256, maxBytes: deps.maxBytes },
    input.signal,
  );

  // A large upload takes minutes: the row and the audit entry carry the time it completed.
  const done: Caller = { ...caller, at: deps.clock.now() };
  return deps.knex.transaction(async (trx) => {
    const locked = await imageForManagement(trx, done, before.imageId);
    const current = await getVersionContent(trx, input.versionId, { forUpdate: true });
    assertAcceptsContent(current, sha256);
    const audit = { tenantId: locked.tenantId, targetType: "image", targetId: locked.id };
    if (current.content) {
      await recordChange(trx, done, {
        ...audit,
        action: "image.upload_version_content",
        after: { versionId: input.versionId, sha256, unchanged: true },
      });
      return { content: current.content, created: false };
    }
    const content: VersionContent = { sha256, sizeBytes: stored.sizeBytes, format, uploadedAt: done.at };
    await setVersionContent(trx, input.versionId, content, caller.principal.userId);
    await recordChange(trx, done, {
      ...audit,
      action: "image.upload_version_content",
      before: { versionId: input.versionId, sha256: null },
      after: { versionId: input.versionId, sha256, sizeBytes: stored.sizeBytes, format },
    });
    return { content, created: true };
  });
}
