import type { Knex } from "knex";
import type { Principal } from "../api/principal.js";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { isUuid } from "../api/resource-id.js";
import { checkImageVersionForInstance } from "./image-resolution.js";
import { getImageVersion } from "./image-version-store.js";
import { mergeTemplateConfig, type MergedInstanceConfig, type TemplateOverrides } from "./template-config-merge.js";
import { getLatestTemplateVersion, getTemplateVersion, getVisibleTemplate } from "./template-store.js";

/**
 * What the instance issue calls to turn "template (+ version) + overrides" into an instance
 * configuration: the template must be visible to `p` (else not_found) and active (else
 * failed_precondition, 000 §6.2.1) and, for a `user`, listed (seed 002); `templateVersionId` empty means the latest version; the merge
 * follows 000 §6.2.1; an unset image version becomes the image's default (else latest) version;
 * and the result must meet the image's requirements (000 §9.2). Reads only; writes nothing.
 */
export async function instanceConfigFromTemplate(
  knex: Knex,
  p: Principal,
  input: { templateId: string; templateVersionId: string; overrides: TemplateOverrides; overridesField?: string },
): Promise<MergedInstanceConfig> {
  const template = await getVisibleTemplate(knex, input.templateId, p);
  if (template.status !== "active") {
    throw new FailedPreconditionError(
      `Cannot use template ${template.config.name}: it is ${template.status}; only active templates can create instances`,
      {
        reason: "TEMPLATE_NOT_ACTIVE",
        metadata: { template_id: template.id, status: template.status },
      },
    );
  }
  if (!template.config.listed && p.role === "user") {
    throw new FailedPreconditionError(
      `Cannot use template ${template.config.name}: it is not listed (not offered to users)`,
      {
        reason: "TEMPLATE_NOT_LISTED",
        metadata: { template_id: template.id },
      },
    );
  }
  const version = input.templateVersionId
    ? await getTemplateVersion(knex, template.id, input.templateVersionId)
    : await getLatestTemplateVersion(knex, template.id);
  const known = new Map<string, { imageId: string }>();
  const wanted = input.overrides.imageVersionId;
  if (wanted !== undefined && isUuid(wanted)) {
    const v = await getImageVersion(knex, wanted).catch((err: unknown) =>
      err instanceof NotFoundError ? undefined : Promise.reject(err),
    );
    if (v) known.set(v.id, { imageId: v.imageId });
  }
  const merged = mergeTemplateConfig(
    { templateId: template.id, versionId: version.id, config: version.config },
    input.overrides,
    (id) => known.get(id),
    input.overridesField ?? "",
  );
  if (merged.imageId === null) return merged;
  if (merged.imageVersionId === null) {
    const fallback = (await knex("image_versions")
      .where({ image_id: merged.imageId, status: "active" })
      .whereNull("deleted_at")
      .where((q) => q.where("is_default", true).orWhere("is_latest", true))
      .orderBy("is_default", "desc")
      .first("id")) as { id: string } | undefined;
    if (!fallback) {
      throw new FailedPreconditionError(
        `Cannot use template ${template.config.name}: its image has no active default or latest version`,
        {
          reason: "IMAGE_NO_USABLE_VERSION",
          metadata: { image_id: merged.imageId },
        },
      );
    }
    merged.imageVersionId = fallback.id;
  }
  await checkImageVersionForInstance(
    knex,
    merged.imageVersionId,
    { cpuCores: merged.cpuCores, memoryGb: merged.memoryGb, storageGb: merged.storageGb },
    { newInstance: true },
  );
  return merged;
}
