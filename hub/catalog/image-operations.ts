import { recordAudit } from "../audit/audit-writer.js";
import { newId } from "../db/ids.js";
import { NotFoundError, PermissionDeniedError, FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import { canManageCatalogItem, tenantForNewItem } from "./catalog-access.js";
import type { CatalogCaller, CatalogDeps } from "./catalog-deps.js";
import type { CatalogStatus } from "./catalog-vocabulary.js";
import type { Image } from "./image.js";
import { validateImageRequirements, type ImageRequirements } from "./image-requirements.js";
import { getImageRequirements, upsertImageRequirements } from "./image-requirements-store.js";
import { getImage, getVisibleImage, insertImage, softDeleteImage, updateImage, type ImageFields } from "./image-store.js";
import { validateImageFields } from "./image-validation.js";
import { isUuid } from "./catalog-page.js";

/** An image the caller may change, locked for the transaction; one it cannot see or manage is not_found / permission_denied. */
export async function imageForManagement(trx: CatalogDeps["knex"], caller: CatalogCaller, imageId: string): Promise<Image> {
  const visible = await getVisibleImage(trx, imageId, caller.principal);
  if (!canManageCatalogItem(caller.principal, visible)) throw new PermissionDeniedError(`Cannot change image ${imageId}: only an admin or the image's tenant_admin may`);
  return getImage(trx, imageId, { forUpdate: true });
}

export async function createImage(deps: CatalogDeps, caller: CatalogCaller, input: ImageFields & { tenantId: string | null; requirements?: ImageRequirements }): Promise<Image> {
  validateImageFields(input);
  if (input.tenantId !== null && !isUuid(input.tenantId)) throw new InvalidArgumentError("tenant_id", `"${input.tenantId}" is not a tenant id`);
  const placement = tenantForNewItem(caller.principal, input.tenantId);
  if (!placement) throw new PermissionDeniedError("Cannot create image: only an admin, or a tenant_admin in its own tenant, may");
  if (input.requirements) validateImageRequirements(input.requirements);
  const p = caller.principal;
  return deps.knex.transaction(async (trx) => {
    if (placement.tenantId !== null && !(await trx("tenants").where({ id: placement.tenantId }).whereNull("deleted_at").first("id"))) {
      throw new NotFoundError("tenant", placement.tenantId);
    }
    const now = deps.clock.now();
    const image = await insertImage(trx, { ...input, id: newId(), ownerId: p.userId, tenantId: placement.tenantId, actorId: p.userId, now });
    if (input.requirements) await upsertImageRequirements(trx, image.id, input.requirements, p.userId, now);
    await recordAudit(trx, { actor: p, tenantId: image.tenantId, action: "image.create", targetType: "image", targetId: image.id, after: image, requestId: caller.requestId, at: now });
    return image;
  });
}

export async function updateImageFields(deps: CatalogDeps, caller: CatalogCaller, imageId: string, patch: Partial<ImageFields>): Promise<Image> {
  validateImageFields(patch);
  return deps.knex.transaction(async (trx) => {
    const before = await imageForManagement(trx, caller, imageId);
    const now = deps.clock.now();
    const after = await updateImage(trx, imageId, patch, caller.principal.userId, now);
    await recordAudit(trx, { actor: caller.principal, tenantId: after.tenantId, action: "image.update", targetType: "image", targetId: imageId, before, after, requestId: caller.requestId, at: now });
    return after;
  });
}

/** Image-level status (000 §6.4 status); archiving the image needs every version archived or deprecated first. */
export async function setImageStatus(deps: CatalogDeps, caller: CatalogCaller, imageId: string, status: CatalogStatus): Promise<Image> {
  return deps.knex.transaction(async (trx) => {
    const before = await imageForManagement(trx, caller, imageId);
    if (before.status === "archived" && status !== "archived") throw new FailedPreconditionError(`Cannot set image ${before.name} ${status}: it is archived`);
    if (status === "archived") {
      const active = await trx("image_versions").where({ image_id: imageId, status: "active" }).whereNull("deleted_at").first("version_number");
      if (active) throw new FailedPreconditionError(`Cannot archive image ${before.name}: version ${active.version_number} is still active`);
    }
    const now = deps.clock.now();
    const after = await updateImage(trx, imageId, { status }, caller.principal.userId, now);
    await recordAudit(trx, { actor: caller.principal, tenantId: after.tenantId, action: "image.set_status", targetType: "image", targetId: imageId, before: { status: before.status }, after: { status }, requestId: caller.requestId, at: now });
    return after;
  });
}

/** Soft-deletes an image that no instance uses and no live template references. */
export async function deleteImage(deps: CatalogDeps, caller: CatalogCaller, imageId: string): Promise<void> {
  await deps.knex.transaction(async (trx) => {
    const before = await imageForManagement(trx, caller, imageId);
    const used = await trx("image_version_usage").where({ image_id: imageId }).first("instance_id");
    if (used) throw new FailedPreconditionError(`Cannot delete image ${before.name}: instances still use it`);
    const template = await trx("templates").where({ base_image_id: imageId }).whereNull("deleted_at").first("name");
    if (template) throw new FailedPreconditionError(`Cannot delete image ${before.name}: template ${template.name} uses it`);
    const now = deps.clock.now();
    await softDeleteImage(trx, imageId, caller.principal.userId, now);
    await recordAudit(trx, { actor: caller.principal, tenantId: before.tenantId, action: "image.delete", targetType: "image", targetId: imageId, before, requestId: caller.requestId, at: now });
  });
}

export async function setImageRequirements(deps: CatalogDeps, caller: CatalogCaller, imageId: string, req: ImageRequirements): Promise<ImageRequirements> {
  validateImageRequirements(req);
  return deps.knex.transaction(async (trx) => {
    const image = await imageForManagement(trx, caller, imageId);
    const before = await getImageRequirements(trx, imageId);
    const now = deps.clock.now();
    await upsertImageRequirements(trx, imageId, req, caller.principal.userId, now);
    await recordAudit(trx, { actor: caller.principal, tenantId: image.tenantId, action: "image.set_requirements", targetType: "image", targetId: imageId, before, after: req, requestId: caller.requestId, at: now });
    return req;
  });
}
