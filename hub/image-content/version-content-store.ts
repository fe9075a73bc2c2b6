import type { Knex } from "knex";
import { IMAGE_CONTENT_FORMAT } from "../catalog/catalog-enums.js";
import { NotFoundError } from "../domain/errors.js";

/** qcow2 or raw: the catalog's mapping is the one definition (with the column's CHECK). */
export const CONTENT_FORMATS = IMAGE_CONTENT_FORMAT.dbValues;
export type ContentFormat = (typeof CONTENT_FORMATS)[number];

/** The content an image version has: set once by an upload, then never changed. */
export interface VersionContent {
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly format: ContentFormat;
  readonly uploadedAt: Date;
}

export interface VersionContentRow {
  readonly versionId: string;
  readonly imageId: string;
  readonly status: string;
  readonly content: VersionContent | null;
}

interface Row {
  id: string;
  image_id: string;
  status: string;
  content_sha256: string | null;
  content_size_bytes: string | number | null;
  content_format: ContentFormat | null;
  content_uploaded_at: Date | null;
}

function contentOf(r: Row): VersionContent | null {
  if (r.content_sha256 === null) return null;
  return {
    sha256: r.content_sha256,
    sizeBytes: Number(r.content_size_bytes),
    format: r.content_format!,
    uploadedAt: new Date(r.content_uploaded_at!),
  };
}

/** A live image version's content columns (E builds ImageContentRef from these). */
export async function getVersionContent(
  knex: Knex,
  versionId: string,
  options: { forUpdate?: boolean } = {},
): Promise<VersionContentRow> {
  const q = knex("image_versions")
    .where({ id: versionId })
    .whereNull("deleted_at")
    .first("id", "image_id", "status", "content_sha256", "content_size_bytes", "content_format", "content_uploaded_at");
  const row = (await (options.forUpdate ? q.forUpdate() : q)) as Row | undefined;
  if (!row) throw new NotFoundError("image version", versionId);
  return { versionId: row.id, imageId: row.image_id, status: row.status, content: contentOf(row) };
}

export async function setVersionContent(
  trx: Knex.Transaction,
  versionId: string,
  content: VersionContent,
  actorId: string,
): Promise<void> {
  await trx("image_versions").where({ id: versionId }).update({
    content_sha256: content.sha256,
    content_size_bytes: content.sizeBytes,
    content_format: content.format,
    content_uploaded_at: content.uploadedAt,
    updated_at: content.uploadedAt,
    updated_by: actorId,
  });
}
