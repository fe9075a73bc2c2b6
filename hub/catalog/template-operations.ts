import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
} from "../domain/errors.js";
import { tenantForNewItem } from "./catalog-access.js";
import type { CatalogDeps } from "./catalog-deps.js";
import type { CatalogStatus, Visibility } from "./catalog-enums.js";
import { bumpPatch, compareSemver, parseSemver } from "./semver.js";
import type { TemplateConfig } from "./template-config.js";
import { checkTemplateReferences, templateForManagement } from "./template-checks.js";
import {
  getLatestTemplateVersion,
  getTemplateVersion,
  insertLatestTemplateVersion,
  insertTemplate,
  softDeleteTemplate,
  updateTemplateRow,
} from "./template-store.js";
import { validateTemplateConfig } from "./template-validation.js";
import type { Template, TemplateVersion } from "./template.js";

export const FIRST_TEMPLATE_VERSION = "v1.0.0";

export interface CreateTemplateInput {
  config: TemplateConfig;
  visibility: Visibility;
  tenantId: string | null;
  /** Empty: v1.0.0. */
  versionNumber: string;
  changelog: string;
}

export async function createTemplate(deps: CatalogDeps, caller: Caller, input: CreateTemplateInput): Promise<Template> {
  validateTemplateConfig(input.config);
  const version = parseSemver("version_number", input.versionNumber || FIRST_TEMPLATE_VERSION);
  const p = caller.principal;
  const placement = tenantForNewItem(p, input.tenantId);
  if (!placement)
    throw new PermissionDeniedError("Cannot create template: only an admin, or a tenant_admin in its own tenant, may");
  return deps.knex.transaction(async (trx) => {
    if (
      placement.tenantId !== null &&
      !(await trx("tenants").where({ id: placement.tenantId }).whereNull("deleted_at").first("id"))
    ) {
      throw new NotFoundError("tenant", placement.tenantId);
    }
    await checkTemplateReferences(trx, p, placement.tenantId, input.config);
    const now = caller.at;
    const template = await insertTemplate(trx, {
      id: newId(),
      config: input.config,
      visibility: input.visibility,
      ownerId: p.userId,
      tenantId: placement.tenantId,
      version: version.text,
      actorId: p.userId,
      now,
    });
    await insertLatestTemplateVersion(trx, {
      id: newId(),
      templateId: template.id,
      versionNumber: version.text,
      config: input.config,
      changelog: input.changelog || "Initial version",
      actorId: p.userId,
      now,
    });
    await recordChange(trx, caller, {
      tenantId: template.tenantId,
      action: "template.create",
      targetType: "template",
      targetId: template.id,
      after: template,
    });
    return template;
  });
}

export interface UpdateTemplateInput {
  /** Changed config fields; template_type cannot change. Empty: only access fields change, no new version. */
  config: Partial<Omit<TemplateConfig, "templateType">>;
  visibility?: Visibility;
  /** Empty: the latest version with its patch number bumped. */
  versionNumber: string;
  changelog: string;
  /** The etag the caller read; empty skips the check. */
  etag: string;
}

/** The next version number: the requested one (newer than the latest), or the latest's patch bumped. */
function nextVersion(latest: string, requested: string): string {
  const current = parseSemver("version_number", latest);
  if (requested === "") return bumpPatch(current).text;
  const next = parseSemver("version_number", requested);
  if (compareSemver(next, current) <= 0)
    throw new InvalidArgumentError("version_number", `${requested} must be newer than the latest version ${latest}`);
  return next.text;
}

function refuseArchived(t: Template, what: string): void {
  if (t.status === "archived")
    throw new FailedPreconditionError(`Cannot ${what} template ${t.config.name}: it is archived`, {
      reason: "TEMPLATE_ARCHIVED",
      metadata: { template_id: t.id },
    });
}

/** Every config change makes a new latest version holding the full configuration (000 §6.2.3). */
export async function updateTemplate(
  deps: CatalogDeps,
  caller: Caller,
  templateId: string,
  input: UpdateTemplateInput,
): Promise<{ template: Template; version: TemplateVersion }> {
  if ("templateType" in input.config)
    throw new InvalidArgumentError("update_mask", "config.template_type cannot change after creation");
  return deps.knex.transaction(async (trx) => {
    const before = await templateForManagement(trx, caller.principal, templateId);
    checkEtag(input.etag, before, "template", templateId);
    refuseArchived(before, "update");
    if (Object.keys(input.config).length === 0) {
      // Visibility is not part of a version's snapshot: no new version for it.
      const template = await updateTemplateRow(
        trx,
        templateId,
        { ...(input.visibility ? { visibility: input.visibility } : {}) },
        caller.principal.userId,
        caller.at,
      );
      await recordChange(trx, caller, {
        tenantId: template.tenantId,
        action: "template.update",
        targetType: "template",
        targetId: templateId,
        before,
        after: template,
      });
      return { template, version: await getLatestTemplateVersion(trx, templateId) };
    }
    const config = validateTemplateConfig({ ...before.config, ...input.config });
    await checkTemplateReferences(trx, caller.principal, before.tenantId, config);
    return writeNewVersion(
      caller,
      trx,
      before,
      config,
      nextVersion(before.version, input.versionNumber),
      input.changelog,
      "template.update",
      input.visibility,
    );
  });
}

/** Rollback (000 §6.2 "版本管理: 支持回滚"): an old snapshot becomes a new latest version, so history only grows. */
export async function rollbackTemplate(
  deps: CatalogDeps,
  caller: Caller,
  templateId: string,
  toVersionId: string,
  changelog: string,
): Promise<{ template: Template; version: TemplateVersion }> {
  return deps.knex.transaction(async (trx) => {
    const before = await templateForManagement(trx, caller.principal, templateId);
    refuseArchived(before, "roll back");
    const target = await getTemplateVersion(trx, templateId, toVersionId);
    const latest = await getLatestTemplateVersion(trx, templateId);
    if (target.id === latest.id) {
      throw new FailedPreconditionError(
        `Cannot roll back template ${before.config.name} to ${target.versionNumber}: it is already the latest version`,
        {
          reason: "VERSION_ALREADY_LATEST",
          metadata: { version_number: target.versionNumber },
        },
      );
    }
    await checkTemplateReferences(trx, caller.principal, before.tenantId, target.config);
    const note = `Rollback to ${target.versionNumber}${changelog ? `: ${changelog}` : ""}`;
    return writeNewVersion(
      caller,
      trx,
      before,
      target.config,
      nextVersion(before.version, ""),
      note,
      "template.rollback",
    );
  });
}

async function writeNewVersion(
  caller: Caller,
  trx: Knex.Transaction,
  before: Template,
  config: TemplateConfig,
  versionNumber: string,
  changelog: string,
  action: string,
  visibility?: Visibility,
): Promise<{ template: Template; version: TemplateVersion }> {
  const now = caller.at;
  const actorId = caller.principal.userId;
  const template = await updateTemplateRow(
    trx,
    before.id,
    { config, version: versionNumber, ...(visibility ? { visibility } : {}) },
    actorId,
    now,
  );
  const version = await insertLatestTemplateVersion(trx, {
    id: newId(),
    templateId: before.id,
    versionNumber,
    config,
    changelog,
    actorId,
    now,
  });
  await recordChange(trx, caller, {
    tenantId: template.tenantId,
    action,
    targetType: "template",
    targetId: template.id,
    before,
    after: template,
  });
  return { template, version };
}

const STATUS_ACTIONS: Record<CatalogStatus, string> = {
  active: "template.activate",
  deprecated: "template.deprecate",
  archived: "template.archive",
};

/** DeprecateTemplate, ActivateTemplate, ArchiveTemplate: active ⇄ deprecated; archived is final (000 §6.2.1). */
export async function changeTemplateStatus(
  deps: CatalogDeps,
  caller: Caller,
  templateId: string,
  status: CatalogStatus,
): Promise<Template> {
  return deps.knex.transaction(async (trx) => {
    const before = await templateForManagement(trx, caller.principal, templateId);
    if (status !== "archived") refuseArchived(before, `make ${status}`);
    const after = await updateTemplateRow(trx, templateId, { status }, caller.principal.userId, caller.at);
    await recordChange(trx, caller, {
      tenantId: after.tenantId,
      action: STATUS_ACTIONS[status],
      targetType: "template",
      targetId: templateId,
      before: { status: before.status },
      after: { status },
    });
    return after;
  });
}

/** Soft delete; refused while a live instance-set template lists it as a member. */
export async function deleteTemplate(deps: CatalogDeps, caller: Caller, templateId: string): Promise<void> {
  await deps.knex.transaction(async (trx) => {
    const before = await templateForManagement(trx, caller.principal, templateId);
    const parent = await trx("templates")
      .whereNull("deleted_at")
      .whereRaw("member_template_ids @> ?::jsonb", [JSON.stringify([templateId])])
      .first("id", "name");
    if (parent) {
      throw new FailedPreconditionError(
        `Cannot delete template ${before.config.name}: instance-set template ${parent.name} uses it`,
        {
          reason: "TEMPLATE_IN_USE",
          metadata: { used_by: "template", template_id: parent.id },
        },
      );
    }
    await softDeleteTemplate(trx, templateId, caller.principal.userId, caller.at);
    await recordChange(trx, caller, {
      tenantId: before.tenantId,
      action: "template.delete",
      targetType: "template",
      targetId: templateId,
      before,
    });
  });
}
