import type { Knex } from "knex";
import { NotFoundError } from "../domain/errors.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import type { CatalogStatus } from "./catalog-enums.js";
import type { ImageVersion } from "./image.js";
import type { Semver } from "./semver.js";

const COLUMNS = [
  "id",
  "image_id",
  "version_number",
  "version_name",
  "parent_version_id",
  "size_gb",
  "file_path",
  "checksum_md5",
  "release_notes",
  "status",
  "is_latest",
  "is_default",
  "deprecated_at",
  "archived_at",
  "created_at",
  "created_by",
  "updated_at",
  "content_sha256",
  "content_size_bytes",
  "content_format",
  "content_uploaded_at",
];

interface VersionRow {
  id: string;
  image_id: string;
  version_number: string;
  version_name: string;
  parent_version_id: string | null;
  size_gb: number;
  file_path: string;
  checksum_md5: string;
  release_notes: string;
  status: CatalogStatus;
  is_latest: boolean;
  is_default: boolean;
  deprecated_at: Date | null;
  archived_at: Date | null;
  created_at: Date;
  created_by: string | null;
  updated_at: Date;
  content_sha256: string | null;
  content_size_bytes: string | number | null;
  content_format: "qcow2" | "raw" | null;
  content_uploaded_at: Date | null;
}

function toVersion(r: VersionRow): ImageVersion {
  return {
    id: r.id,
    imageId: r.image_id,
    versionNumber: r.version_number,
    versionName: r.version_name,
    parentVersionId: r.parent_version_id,
    sizeGb: Number(r.size_gb),
    filePath: r.file_path,
    checksumMd5: r.checksum_md5,
    releaseNotes: r.release_notes,
    status: r.status,
    isLatest: r.is_latest,
    isDefault: r.is_default,
    deprecatedAt: r.deprecated_at ? new Date(r.deprecated_at) : null,
    archivedAt: r.archived_at ? new Date(r.archived_at) : null,
    createdAt: new Date(r.created_at),
    createdBy: r.created_by,
    updatedAt: new Date(r.updated_at),
    content:
      r.content_sha256 === null
        ? null
        : {
            sha256: r.content_sha256,
            sizeBytes: Number(r.content_size_bytes),
            format: r.content_format!,
            uploadedAt: new Date(r.content_uploaded_at!),
          },
  };
}

export interface NewImageVersion {
  id: string;
  imageId: string;
  version: Semver;
  versionName: string;
  parentVersionId: string | null;
  sizeGb: number;
  filePath: string;
  checksumMd5: string;
  releaseNotes: string;
  actorId: string;
  now: Date;
}

export async function insertImageVersion(trx: Knex, v: NewImageVersion): Promise<ImageVersion> {
  const [row] = await trx("image_versions")
    .insert({
      id: v.id,
      image_id: v.imageId,
      version_number: v.version.text,
      major: v.version.major,
      minor: v.version.minor,
      patch: v.version.patch,
      version_name: v.versionName,
      parent_version_id: v.parentVersionId,
      size_gb: v.sizeGb,
      file_path: v.filePath,
      checksum_md5: v.checksumMd5,
      release_notes: v.releaseNotes,
      status: "active",
      created_at: v.now,
      updated_at: v.now,
      created_by: v.actorId,
      updated_by: v.actorId,
    })
    .returning(COLUMNS);
  return toVersion(row as VersionRow);
}

/** A live version; with `imageId`, only a version of that image (another image's id answers not_found). */
export async function getImageVersion(
  knex: Knex,
  id: string,
  options: { imageId?: string; forUpdate?: boolean } = {},
): Promise<ImageVersion> {
  const q = knex("image_versions").where({ id }).whereNull("deleted_at").first(COLUMNS);
  if (options.imageId) q.where("image_id", options.imageId);
  const row = (await (options.forUpdate ? q.forUpdate() : q)) as VersionRow | undefined;
  if (!row) throw new NotFoundError("image version", id);
  return toVersion(row);
}

export async function findImageVersionByNumber(
  knex: Knex,
  imageId: string,
  versionNumber: string,
): Promise<ImageVersion | undefined> {
  const row = (await knex("image_versions")
    .where({ image_id: imageId, version_number: versionNumber })
    .whereNull("deleted_at")
    .first(COLUMNS)) as VersionRow | undefined;
  return row ? toVersion(row) : undefined;
}

const NEWEST_FIRST: { column: string; order: "desc" }[] = [
  { column: "major", order: "desc" },
  { column: "minor", order: "desc" },
  { column: "patch", order: "desc" },
];

/** Every live version of an image, newest version number first (for the operations' own checks). */
export async function listImageVersions(knex: Knex, imageId: string): Promise<ImageVersion[]> {
  const rows = (await knex("image_versions")
    .where({ image_id: imageId })
    .whereNull("deleted_at")
    .select(COLUMNS)
    .orderBy(NEWEST_FIRST)) as VersionRow[];
  return rows.map(toVersion);
}

/**
 * A page of an image's versions, newest version number first. Live version numbers are unique per
 * image, so the key is the number's parts [major, minor, patch] (checked as integers by the caller).
 */
export async function listImageVersionsPage(
  knex: Knex,
  imageId: string,
  status: CatalogStatus | null,
  page: PageRequest,
): Promise<Page<ImageVersion>> {
  const q = knex("image_versions").where({ image_id: imageId }).whereNull("deleted_at");
  if (status) q.where({ status });
  if (page.after) q.whereRaw("(major, minor, patch) < (?, ?, ?)", page.after.map(Number));
  const rows = (await q
    .select(COLUMNS)
    .orderBy(NEWEST_FIRST)
    .limit(page.pageSize + 1)) as VersionRow[];
  return pageOf(rows.map(toVersion), page, (v) => v.versionNumber.slice(1).split("."));
}

/** Moves the is_latest / is_default flag of an image to `versionId` (null: to no version). */
export async function moveVersionFlag(
  trx: Knex,
  imageId: string,
  flag: "is_latest" | "is_default",
  versionId: string | null,
  now: Date,
): Promise<void> {
  // Clear first: the partial unique index allows one flagged version per image at any moment.
  await trx("image_versions")
    .where({ image_id: imageId, [flag]: true })
    .whereNull("deleted_at")
    .update({ [flag]: false, updated_at: now });
  if (versionId)
    await trx("image_versions")
      .where({ id: versionId })
      .update({ [flag]: true, updated_at: now });
}

export async function setImageVersionStatus(
  trx: Knex,
  id: string,
  status: CatalogStatus,
  actorId: string,
  now: Date,
): Promise<ImageVersion> {
  const patch: Record<string, unknown> = { status, updated_at: now, updated_by: actorId };
  if (status === "deprecated") Object.assign(patch, { deprecated_at: now, is_latest: false, is_default: false });
  if (status === "archived") Object.assign(patch, { archived_at: now });
  const [row] = await trx("image_versions").where({ id }).update(patch).returning(COLUMNS);
  return toVersion(row as VersionRow);
}
