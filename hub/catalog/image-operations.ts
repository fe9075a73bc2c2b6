import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { NotFoundError, PermissionDeniedError, FailedPreconditionError } from "../domain/errors.js";
import { canManageCatalogItem, tenantForNewItem } from "./catalog-access.js";
import type { CatalogDeps } from "./catalog-deps.js";
import type { CatalogStatus } from "./catalog-enums.js";
import type { Image } from "./image.js";
import { validateImageRequirements, type ImageRequirements } from "./image-requirements.js";
import { getImageRequirements, upsertImageRequirements } from "./image-requirements-store.js";
import {
  getImage,
  getVisibleImage,
  insertImage,
  softDeleteImage,
  updateImage,
  type ImageFields,
} from "./image-store.js";
import { validateImageFields } from "./image-validation.js";

/** An image the caller may change, locked for the transaction; one it cannot see or manage is not_found / permission_denied. */
export async function imageForManagement(trx: CatalogDeps["knex"], caller: Caller, imageId: string): Promise<Image> {
  const visible = await getVisibleImage(trx, imageId, caller.principal);
  if (!canManageCatalogItem(caller.principal, visible))
    throw new PermissionDeniedError(`Cannot change image ${imageId}: only an admin or the image's tenant_admin may`);
  return getImage(trx, imageId, { forUpdate: true });
}

export async function createImage(
  deps: CatalogDeps,
  caller: Caller,
  input: ImageFields & { tenantId: string | null; requirements?: ImageRequirements },
): Promise<Image> {
  validateImageFields(input);
  const placement = tenantForNewItem(caller.principal, input.tenantId);
  if (!placement)
    throw new PermissionDeniedError("Cannot create image: only an admin, or a tenant_admin in its own tenant, may");
  if (input.requirements) validateImageRequirements(input.requirements);
  const p = caller.principal;
  return deps.knex.transaction(async (trx) => {
    if (
      placement.tenantId !== null &&
      !(await trx("tenants").where({ id: placement.tenantId }).whereNull("deleted_at").first("id"))
    ) {
      throw new NotFoundError("tenant", placement.tenantId);
    }
    const now = caller.at;
    const image = await insertImage(trx, {
      ...input,
      id: newId(),
      ownerId: p.userId,
      tenantId: placement.tenantId,
      actorId: p.userId,
      now,
    });
    if (input.requirements) await upsertImageRequirements(trx, image.id, input.requirements, p.userId, now);
    await recordChange(trx, caller, {
      tenantId: image.tenantId,
      action: "image.create",
      targetType: "image",
      targetId: image.id,
      after: image,
    });
    return image;
  });
}

/** UpdateImage: `patch` holds the masked fields; `etag`, when not empty, must be the image's current one. */
export async function updateImageFields(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  patch: Partial<ImageFields>,
  etag: string,
): Promise<Image> {
  validateImageFields(patch);
  return deps.knex.transaction(async (trx) => {
    const before = await imageForManagement(trx, caller, imageId);
    checkEtag(etag, before, "image", imageId);
    const after = await updateImage(trx, imageId, patch, caller.principal.userId, caller.at);
    await recordChange(trx, caller, {
      tenantId: after.tenantId,
      action: "image.update",
      targetType: "image",
      targetId: imageId,
      before,
      after,
    });
    return after;
  });
}

const STATUS_ACTIONS: Record<CatalogStatus, string> = {
  active: "image.activate",
  deprecated: "image.deprecate",
  archived: "image.archive",
};

/**
 * DeprecateImage, ActivateImage, ArchiveImage (000 §6.4 status): archived is final, and archiving
 * needs every version deprecated or archived first.
 */
export async function changeImageStatus(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  status: CatalogStatus,
): Promise<Image> {
  return deps.knex.transaction(async (trx) => {
    const before = await imageForManagement(trx, caller, imageId);
    if (before.status === "archived" && status !== "archived") {
      throw new FailedPreconditionError(`Cannot make image ${before.name} ${status}: it is archived`, {
        reason: "IMAGE_ARCHIVED",
        metadata: { image_id: imageId },
      });
    }
    if (status === "archived") {
      const active = await trx("image_versions")
        .where({ image_id: imageId, status: "active" })
        .whereNull("deleted_at")
        .first("version_number");
      if (active) {
        throw new FailedPreconditionError(
          `Cannot archive image ${before.name}: version ${active.version_number} is still active`,
          {
            reason: "IMAGE_HAS_ACTIVE_VERSIONS",
            metadata: { version_number: active.version_number },
          },
        );
      }
    }
    const after = await updateImage(trx, imageId, { status }, caller.principal.userId, caller.at);
    await recordChange(trx, caller, {
      tenantId: after.tenantId,
      action: STATUS_ACTIONS[status],
      targetType: "image",
      targetId: imageId,
      before: { status: before.status },
      after: { status },
    });
    return after;
  });
}

/** Soft-deletes an image that no instance uses and no live template references. */
export async function deleteImage(deps: CatalogDeps, caller: Caller, imageId: string): Promise<void> {
  await deps.knex.transaction(async (trx) => {
    const before = await imageForManagement(trx, caller, imageId);
    const used = await trx("image_version_usage").where({ image_id: imageId }).first("instance_id");
    if (used)
      throw new FailedPreconditionError(`Cannot delete image ${before.name}: instances still use it`, {
        reason: "IMAGE_IN_USE",
        metadata: { used_by: "instance" },
      });
    const template = await trx("templates")
      .where({ base_image_id: imageId })
      .whereNull("deleted_at")
      .first("id", "name");
    if (template) {
      throw new FailedPreconditionError(`Cannot delete image ${before.name}: template ${template.name} uses it`, {
        reason: "IMAGE_IN_USE",
        metadata: { used_by: "template", template_id: template.id },
      });
    }
    await softDeleteImage(trx, imageId, caller.principal.userId, caller.at);
    await recordChange(trx, caller, {
      tenantId: before.tenantId,
      action: "image.delete",
      targetType: "image",
      targetId: imageId,
      before,
    });
  });
}

export async function setImageRequirements(
  deps: CatalogDeps,
  caller: Caller,
  imageId: string,
  req: ImageRequirements,
): Promise<ImageRequirements> {
  validateImageRequirements(req);
  return deps.knex.transaction(async (trx) => {
    const image = await imageForManagement(trx, caller, imageId);
    const before = await getImageRequirements(trx, imageId);
    await upsertImageRequirements(trx, imageId, req, caller.principal.userId, caller.at);
    await recordChange(trx, caller, {
      tenantId: image.tenantId,
      action: "image.set_requirements",
      targetType: "image",
      targetId: imageId,
      before,
      after: req,
    });
    return req;
  });
}
