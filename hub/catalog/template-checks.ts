import type { Knex } from "knex";
import type { Principal } from "../api/principal.js";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
} from "../domain/errors.js";
import { canManageCatalogItem } from "./catalog-access.js";
import { checkImageRequirements } from "./image-requirements.js";
import { getImageRequirements } from "./image-requirements-store.js";
import { getVisibleImage } from "./image-store.js";
import type { TemplateConfig } from "./template-config.js";
import { getTemplate, getVisibleTemplate } from "./template-store.js";
import type { Template } from "./template.js";

/** A template the caller may change, locked; invisible → not_found, visible but not theirs → permission_denied. */
export async function templateForManagement(trx: Knex, p: Principal, id: string): Promise<Template> {
  const visible = await getVisibleTemplate(trx, id, p);
  if (!canManageCatalogItem(p, visible))
    throw new PermissionDeniedError(
      `Cannot change template ${visible.config.name}: only an admin or the template's tenant_admin may`,
    );
  return getTemplate(trx, id, { forUpdate: true });
}

/**
 * What a configuration references must exist for the template's audience: the base image visible to
 * the caller, active, of the template's tenant or the platform, with requirements the defaults
 * meet; member templates visible, of type instance, of the same tenant or the platform.
 */
export async function checkTemplateReferences(
  trx: Knex,
  p: Principal,
  tenantId: string | null,
  c: TemplateConfig,
  prefix = "template.config.",
): Promise<void> {
  if (c.baseImageId !== null) {
    const field = `${prefix}base_image_id`;
    const image = await getVisibleImage(trx, c.baseImageId, p).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new InvalidArgumentError(field, `no image ${c.baseImageId}`);
      throw err;
    });
    if (image.tenantId !== null && image.tenantId !== tenantId)
      throw new InvalidArgumentError(field, `image ${image.name} belongs to another tenant than the template`);
    if (image.status !== "active") {
      throw new FailedPreconditionError(
        `Cannot base template ${c.name} on image ${image.name}: the image is ${image.status}`,
        {
          reason: "IMAGE_NOT_ACTIVE",
          metadata: { image_id: image.id, status: image.status },
        },
      );
    }
    const req = await getImageRequirements(trx, image.id);
    checkImageRequirements(
      image.name,
      { cpuCores: c.defaultCpuCores, memoryGb: c.defaultMemoryGb, storageGb: c.defaultStorageGb },
      req,
    );
  }
  for (const [i, memberId] of (c.instanceSet?.memberTemplateIds ?? []).entries()) {
    const field = `${prefix}instance_set.member_template_ids[${i}]`;
    const member = await getVisibleTemplate(trx, memberId, p).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new InvalidArgumentError(field, `no template ${memberId}`);
      throw err;
    });
    if (member.config.templateType !== "instance")
      throw new InvalidArgumentError(field, `template ${member.config.name} is not an instance template`);
    if (member.tenantId !== null && member.tenantId !== tenantId)
      throw new InvalidArgumentError(field, `template ${member.config.name} belongs to another tenant`);
  }
}
