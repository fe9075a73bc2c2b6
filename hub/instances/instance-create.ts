import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { isUuid, requireId } from "../api/resource-id.js";
import { assertTenantVisible } from "../api/tenant-scope.js";
import { recordChange } from "../audit/record-change.js";
import { checkImageVersionForInstance } from "../catalog/image-resolution.js";
import { getVisibleImage } from "../catalog/image-store.js";
import { findTag } from "../catalog/image-tag-store.js";
import { recordImageVersionUse } from "../catalog/image-version-usage.js";
import { getImageVersion } from "../catalog/image-version-store.js";
import { instanceConfigFromTemplate } from "../catalog/template-use.js";
import { newId } from "../db/ids.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import type { Instance } from "./instance.js";
import { recordInstanceEvent } from "./instance-events.js";
import { validateSize, type SizeInput } from "./instance-spec-rules.js";
import { chargeInstanceQuota } from "./instance-status.js";
import { getInstance } from "./instance-store.js";

export interface CreateInstanceInput {
  name: string;
  description: string;
  /** Empty: the caller. */
  userId: string;
  size: SizeInput;
  source:
    | { kind: "image"; imageId: string; imageVersion: string }
    | { kind: "template"; templateId: string; templateVersionId: string };
}

/** The owner of a new instance: the caller, or a user a tenant_admin / admin names (in scope). */
async function ownerOf(knex: Knex, caller: Caller, userId: string): Promise<{ userId: string; tenantId: string }> {
  const p = caller.principal;
  if (userId === "" || userId === p.userId) {
    if (p.tenantId === null)
      throw new InvalidArgumentError("instance.user_id", "must name the owner: a system account belongs to no tenant");
    return { userId: p.userId, tenantId: p.tenantId };
  }
  const id = requireId("instance.user_id", userId);
  const row = (await knex("users").where({ id }).whereNull("deleted_at").first("id", "tenant_id")) as
    { id: string; tenant_id: string | null } | undefined;
  if (!row) throw new NotFoundError("user", id);
  assertTenantVisible(p, row.tenant_id, "user", id);
  // A user creates only for itself; another user's id answers like a missing one.
  if (p.role === "user") throw new NotFoundError("user", id);
  if (row.tenant_id === null)
    throw new InvalidArgumentError("instance.user_id", `user ${id} is a system account and cannot own instances`);
  return { userId: row.id, tenantId: row.tenant_id };
}

interface ResolvedSource {
  imageId: string;
  imageVersionId: string;
  tagUsed: string;
  templateId: string | null;
  templateVersionId: string | null;
  size: SizeInput;
}

/** Image id + (version id | tag | "" = latest), resolved now: the version is locked from here on (000 §6.4.4). */
async function fromImage(
  knex: Knex,
  caller: Caller,
  imageId: string,
  wanted: string,
  size: SizeInput,
): Promise<ResolvedSource> {
  const image = await getVisibleImage(knex, requireId("image_id", imageId), caller.principal);
  let versionId: string;
  let tagUsed = "";
  if (isUuid(wanted)) {
    versionId = (await getImageVersion(knex, wanted, { imageId: image.id })).id;
  } else {
    tagUsed = wanted === "" ? "latest" : wanted;
    const tag = await findTag(knex, image.id, tagUsed);
    if (!tag) throw new NotFoundError("image tag", `${image.name}:${tagUsed}`);
    versionId = tag.versionId;
  }
  validateSize(size, "instance.");
  await checkImageVersionForInstance(knex, versionId, size, { newInstance: true });
  return { imageId: image.id, imageVersionId: versionId, tagUsed, templateId: null, templateVersionId: null, size };
}

/** A template (000 §8.1.2): its defaults, overridden by the non-zero sizes of the request. */
async function fromTemplate(
  knex: Knex,
  caller: Caller,
  templateId: string,
  templateVersionId: string,
  size: SizeInput,
): Promise<ResolvedSource> {
  const merged = await instanceConfigFromTemplate(knex, caller.principal, {
    templateId: requireId("template_id", templateId),
    templateVersionId: templateVersionId === "" ? "" : requireId("template_version_id", templateVersionId),
    overrides: {
      ...(size.cpuCores ? { cpuCores: size.cpuCores } : {}),
      ...(size.memoryGb ? { memoryGb: size.memoryGb } : {}),
      ...(size.storageGb ? { storageGb: size.storageGb } : {}),
      ...(size.gpuCount ? { gpuCount: size.gpuCount } : {}),
    },
    overridesField: "instance.",
  });
  if (merged.imageId === null || merged.imageVersionId === null)
    throw new InvalidArgumentError(
      "template_id",
      "is an instance-set template; create instances from an instance template",
    );
  const t = (await knex("templates").where({ id: merged.templateId }).first("gpu_model")) as { gpu_model: string };
  const resolved: SizeInput = {
    cpuCores: merged.cpuCores,
    memoryGb: merged.memoryGb,
    storageGb: merged.storageGb,
    gpuCount: merged.gpuCount,
    gpuModel: size.gpuModel ?? (merged.gpuCount > 0 && t.gpu_model ? t.gpu_model : null),
  };
  validateSize(resolved, "instance.");
  return {
    imageId: merged.imageId,
    imageVersionId: merged.imageVersionId,
    tagUsed: "",
    templateId: merged.templateId,
    templateVersionId: merged.templateVersionId,
    size: resolved,
  };
}

/**
 * CreateInstance (000 §8.1): requirements checked, quota charged for a stopped instance, the image
 * version's use recorded, all in one transaction with the audit row. Nothing is placed.
 */
export async function createInstance(knex: Knex, caller: Caller, input: CreateInstanceInput): Promise<Instance> {
  return createInstanceFor(knex, caller, await ownerOf(knex, caller, input.userId), input);
}

/**
 * CreateInstance for an owner the caller has already been cleared to create for (a teacher's
 * batch for its students, hub/instance-sets, 000 §2.5.1): the same checks, quota charge (to the
 * owner), events and audit; `input.userId` is ignored.
 */
export async function createInstanceFor(
  knex: Knex,
  caller: Caller,
  owner: { userId: string; tenantId: string },
  input: CreateInstanceInput,
): Promise<Instance> {
  const src =
    input.source.kind === "image"
      ? await fromImage(knex, caller, input.source.imageId, input.source.imageVersion, input.size)
      : await fromTemplate(knex, caller, input.source.templateId, input.source.templateVersionId, input.size);
  const id = newId();
  return knex.transaction(async (trx) => {
    await trx("instances").insert({
      id,
      name: input.name,
      description: input.description,
      user_id: owner.userId,
      tenant_id: owner.tenantId,
      template_id: src.templateId,
      template_version_id: src.templateVersionId,
      image_id: src.imageId,
      image_version_id: src.imageVersionId,
      image_tag_used: src.tagUsed,
      cpu_cores: src.size.cpuCores,
      memory_gb: src.size.memoryGb,
      storage_gb: src.size.storageGb,
      gpu_count: src.size.gpuCount,
      gpu_model: src.size.gpuModel,
      status: "stopped",
      desired_state: "stopped",
      created_at: caller.at,
      updated_at: caller.at,
      created_by: caller.principal.userId,
      updated_by: caller.principal.userId,
    });
    await chargeInstanceQuota(trx, { id, ...owner, ...src.size }, "stopped");
    await recordImageVersionUse(trx, {
      instanceId: id,
      imageVersionId: src.imageVersionId,
      tagUsed: src.tagUsed,
      now: caller.at,
    });
    await recordInstanceEvent(trx, {
      instanceId: id,
      kind: "status",
      message: "Instance created stopped; nothing is allocated until it starts",
      attributes: { to: "stopped", image_version_id: src.imageVersionId },
      at: caller.at,
    });
    const after = await getInstance(trx, id);
    await recordChange(trx, caller, {
      tenantId: owner.tenantId,
      action: "instance.create",
      targetType: "instance",
      targetId: id,
      after,
    });
    return after;
  });
}
