import type { Knex } from "knex";
import { whereContains } from "../db/contains-pattern.js";
import type { Principal } from "../api/principal.js";
import { NotFoundError } from "../domain/errors.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import type { CatalogStatus, TemplateType, UseCase, Visibility } from "./catalog-enums.js";
import { whereVisibleTo } from "./catalog-visibility-query.js";
import type { TemplateConfig } from "./template-config.js";
import { TEMPLATE_COLUMNS, configToRow, rowToTemplate, type TemplateRow } from "./template-row.js";
import type { Template, TemplateVersion } from "./template.js";

const Q = TEMPLATE_COLUMNS.map((c) => `templates.${c}`);

export async function insertTemplate(
  trx: Knex,
  t: {
    id: string;
    config: TemplateConfig;
    visibility: Visibility;
    ownerId: string;
    tenantId: string | null;
    version: string;
    actorId: string;
    now: Date;
  },
): Promise<Template> {
  const [row] = await trx("templates")
    .insert({
      ...configToRow(t.config),
      id: t.id,
      visibility: t.visibility,
      owner_id: t.ownerId,
      tenant_id: t.tenantId,
      version: t.version,
      status: "active",
      created_at: t.now,
      updated_at: t.now,
      created_by: t.actorId,
      updated_by: t.actorId,
    })
    .returning(TEMPLATE_COLUMNS);
  return rowToTemplate(row as TemplateRow);
}

export async function getTemplate(knex: Knex, id: string, options: { forUpdate?: boolean } = {}): Promise<Template> {
  const q = knex("templates").where({ id }).whereNull("deleted_at").first(TEMPLATE_COLUMNS);
  const row = (await (options.forUpdate ? q.forUpdate() : q)) as TemplateRow | undefined;
  if (!row) throw new NotFoundError("template", id);
  return rowToTemplate(row);
}

/** A live template `p` may see; invisible ones answer not_found like missing ones. */
export async function getVisibleTemplate(knex: Knex, id: string, p: Principal): Promise<Template> {
  const q = knex("templates").where("templates.id", id).whereNull("templates.deleted_at");
  const row = (await whereVisibleTo(knex, q, "templates", p).first(Q)) as TemplateRow | undefined;
  if (!row) throw new NotFoundError("template", id);
  return rowToTemplate(row);
}

export interface TemplateFilter {
  useCase?: UseCase;
  templateType?: TemplateType;
  visibility?: Visibility;
  status?: CatalogStatus;
  listed?: boolean;
  tenantId?: string;
  baseImageId?: string;
  nameContains?: string;
}

/** Creation order (UUIDv7 ids); the page key is the id. */
export async function listTemplates(
  knex: Knex,
  p: Principal,
  f: TemplateFilter,
  page: PageRequest,
): Promise<Page<Template>> {
  const q = knex("templates").whereNull("templates.deleted_at");
  if (f.useCase) q.where("templates.use_case", f.useCase);
  if (f.templateType) q.where("templates.template_type", f.templateType);
  if (f.visibility) q.where("templates.visibility", f.visibility);
  if (f.status) q.where("templates.status", f.status);
  if (f.listed !== undefined) q.where("templates.listed", f.listed);
  // Unlisted templates are not offered to users (catalog-access.ts).
  if (p.role === "user") q.where("templates.listed", true);
  if (f.tenantId) q.where("templates.tenant_id", f.tenantId);
  if (f.baseImageId) q.where("templates.base_image_id", f.baseImageId);
  if (f.nameContains) whereContains(q, "templates.name", f.nameContains);
  if (page.after) q.where("templates.id", ">", page.after[0]!);
  const rows = (await whereVisibleTo(knex, q, "templates", p)
    .select(Q)
    .orderBy("templates.id")
    .limit(page.pageSize + 1)) as TemplateRow[];
  return pageOf(rows.map(rowToTemplate), page, (t) => [t.id]);
}

export async function updateTemplateRow(
  trx: Knex,
  id: string,
  patch: { config?: TemplateConfig; visibility?: Visibility; status?: CatalogStatus; version?: string },
  actorId: string,
  now: Date,
): Promise<Template> {
  const [row] = await trx("templates")
    .where({ id })
    .whereNull("deleted_at")
    .update({
      ...(patch.config ? configToRow(patch.config) : {}),
      ...(patch.visibility ? { visibility: patch.visibility } : {}),
      ...(patch.status ? { status: patch.status } : {}),
      ...(patch.version ? { version: patch.version } : {}),
      updated_at: now,
      updated_by: actorId,
    })
    .returning(TEMPLATE_COLUMNS);
  if (!row) throw new NotFoundError("template", id);
  return rowToTemplate(row as TemplateRow);
}

export async function softDeleteTemplate(trx: Knex, id: string, actorId: string, now: Date): Promise<void> {
  await trx("templates")
    .where({ id })
    .whereNull("deleted_at")
    .update({ deleted_at: now, updated_at: now, updated_by: actorId });
}

// ---- template_versions ----

const VERSION_COLUMNS = [
  "id",
  "template_id",
  "version_number",
  "is_latest",
  "config_snapshot",
  "changelog",
  "created_at",
  "created_by",
];
interface VersionRow {
  id: string;
  template_id: string;
  version_number: string;
  is_latest: boolean;
  config_snapshot: unknown;
  changelog: string;
  created_at: Date;
  created_by: string | null;
}

function toVersion(r: VersionRow): TemplateVersion {
  const snapshot = (
    typeof r.config_snapshot === "string" ? JSON.parse(r.config_snapshot) : r.config_snapshot
  ) as TemplateConfig;
  return {
    id: r.id,
    templateId: r.template_id,
    versionNumber: r.version_number,
    isLatest: r.is_latest,
    config: snapshot,
    changelog: r.changelog,
    createdAt: new Date(r.created_at),
    createdBy: r.created_by,
  };
}

/** Adds a version and makes it the only latest one of its template. */
export async function insertLatestTemplateVersion(
  trx: Knex,
  v: {
    id: string;
    templateId: string;
    versionNumber: string;
    config: TemplateConfig;
    changelog: string;
    actorId: string;
    now: Date;
  },
): Promise<TemplateVersion> {
  await trx("template_versions").where({ template_id: v.templateId, is_latest: true }).update({ is_latest: false });
  const [row] = await trx("template_versions")
    .insert({
      id: v.id,
      template_id: v.templateId,
      version_number: v.versionNumber,
      is_latest: true,
      config_snapshot: JSON.stringify(v.config),
      changelog: v.changelog,
      created_at: v.now,
      created_by: v.actorId,
    })
    .returning(VERSION_COLUMNS);
  return toVersion(row as VersionRow);
}

/** A version of `templateId`; another template's version id answers not_found. */
export async function getTemplateVersion(knex: Knex, templateId: string, versionId: string): Promise<TemplateVersion> {
  const row = (await knex("template_versions")
    .where({ id: versionId, template_id: templateId })
    .first(VERSION_COLUMNS)) as VersionRow | undefined;
  if (!row) throw new NotFoundError("template version", versionId);
  return toVersion(row);
}

export async function getLatestTemplateVersion(knex: Knex, templateId: string): Promise<TemplateVersion> {
  const row = (await knex("template_versions")
    .where({ template_id: templateId, is_latest: true })
    .first(VERSION_COLUMNS)) as VersionRow | undefined;
  if (!row) throw new NotFoundError("template version", `latest of ${templateId}`);
  return toVersion(row);
}

/** A version by id alone (GetTemplateVersion checks its template's visibility next). */
export async function getTemplateVersionById(knex: Knex, versionId: string): Promise<TemplateVersion> {
  const row = (await knex("template_versions").where({ id: versionId }).first(VERSION_COLUMNS)) as
    VersionRow | undefined;
  if (!row) throw new NotFoundError("template version", versionId);
  return toVersion(row);
}

/** A page of a template's versions, newest first (ids are UUIDv7, so id order is creation order); the key is the id. */
export async function listTemplateVersions(
  knex: Knex,
  templateId: string,
  page: PageRequest,
): Promise<Page<TemplateVersion>> {
  const q = knex("template_versions").where({ template_id: templateId });
  if (page.after) q.where("id", "<", page.after[0]!);
  const rows = (await q
    .select(VERSION_COLUMNS)
    .orderBy("id", "desc")
    .limit(page.pageSize + 1)) as VersionRow[];
  return pageOf(rows.map(toVersion), page, (v) => [v.id]);
}
