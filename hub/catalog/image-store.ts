import type { Knex } from "knex";
import type { Principal } from "../api/principal.js";
import { NotFoundError } from "../domain/errors.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import type { Architecture, CatalogStatus, ImageType, Visibility } from "./catalog-enums.js";
import { whereVisibleTo } from "./catalog-visibility-query.js";
import type { Image } from "./image.js";

const COLUMNS = [
  "id",
  "name",
  "description",
  "image_type",
  "base_os",
  "os_version",
  "architecture",
  "size_gb",
  "visibility",
  "status",
  "file_server_id",
  "file_path",
  "checksum_md5",
  "owner_id",
  "tenant_id",
  "created_at",
  "updated_at",
  "created_by",
  "updated_by",
].map((c) => `images.${c}`);

interface ImageRow {
  id: string;
  name: string;
  description: string;
  image_type: ImageType;
  base_os: string;
  os_version: string;
  architecture: Architecture;
  size_gb: number;
  visibility: Visibility;
  status: CatalogStatus;
  file_server_id: string;
  file_path: string;
  checksum_md5: string;
  owner_id: string;
  tenant_id: string | null;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
  updated_by: string | null;
}

function toImage(r: ImageRow): Image {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    imageType: r.image_type,
    baseOs: r.base_os,
    osVersion: r.os_version,
    architecture: r.architecture,
    sizeGb: Number(r.size_gb),
    visibility: r.visibility,
    status: r.status,
    fileServerId: r.file_server_id,
    filePath: r.file_path,
    checksumMd5: r.checksum_md5,
    ownerId: r.owner_id,
    tenantId: r.tenant_id,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    createdBy: r.created_by,
    updatedBy: r.updated_by,
  };
}

/** The mutable, caller-supplied fields of an image. */
export type ImageFields = Pick<
  Image,
  | "name"
  | "description"
  | "imageType"
  | "baseOs"
  | "osVersion"
  | "architecture"
  | "sizeGb"
  | "visibility"
  | "fileServerId"
  | "filePath"
  | "checksumMd5"
>;

function fieldsToRow(f: Partial<ImageFields>): Record<string, unknown> {
  const map: Record<keyof ImageFields, string> = {
    name: "name",
    description: "description",
    imageType: "image_type",
    baseOs: "base_os",
    osVersion: "os_version",
    architecture: "architecture",
    sizeGb: "size_gb",
    visibility: "visibility",
    fileServerId: "file_server_id",
    filePath: "file_path",
    checksumMd5: "checksum_md5",
  };
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(map)) {
    const value = f[key as keyof ImageFields];
    if (value !== undefined) row[column] = value;
  }
  return row;
}

export async function insertImage(
  trx: Knex,
  image: ImageFields & { id: string; ownerId: string; tenantId: string | null; actorId: string | null; now: Date },
): Promise<Image> {
  const [row] = await trx("images")
    .insert({
      ...fieldsToRow(image),
      id: image.id,
      owner_id: image.ownerId,
      tenant_id: image.tenantId,
      status: "active",
      created_at: image.now,
      updated_at: image.now,
      created_by: image.actorId,
      updated_by: image.actorId,
    })
    .returning(COLUMNS.map((c) => c.slice("images.".length)));
  return toImage(row as ImageRow);
}

/** A live image by (well-formed) id, locked FOR UPDATE when `forUpdate`; NotFoundError otherwise. */
export async function getImage(knex: Knex, id: string, options: { forUpdate?: boolean } = {}): Promise<Image> {
  const q = knex("images").where("images.id", id).whereNull("images.deleted_at").first(COLUMNS);
  const row = (await (options.forUpdate ? q.forUpdate() : q)) as ImageRow | undefined;
  if (!row) throw new NotFoundError("image", id);
  return toImage(row);
}

/** A live image by id as `p` may see it; an invisible one is not_found, like a missing one. */
export async function getVisibleImage(knex: Knex, id: string, p: Principal): Promise<Image> {
  const q = knex("images").where("images.id", id).whereNull("images.deleted_at");
  const row = (await whereVisibleTo(knex, q, "images", p).first(COLUMNS)) as ImageRow | undefined;
  if (!row) throw new NotFoundError("image", id);
  return toImage(row);
}

/**
 * The image of a version the caller asked for by the version's id. A version of an image the caller
 * may not see is not_found *as the version*: the answer must not confirm, or name, its image.
 */
export async function getVisibleImageOfVersion(
  knex: Knex,
  version: { id: string; imageId: string },
  p: Principal,
): Promise<Image> {
  try {
    return await getVisibleImage(knex, version.imageId, p);
  } catch (err) {
    throw err instanceof NotFoundError ? new NotFoundError("image version", version.id) : err;
  }
}

/**
 * The image called `name` that `p` sees, preferring the principal's tenant's own image over a
 * platform image of the same name (names are unique per tenant, and among platform images).
 */
export async function findVisibleImageByName(knex: Knex, name: string, p: Principal): Promise<Image | undefined> {
  const q = knex("images").whereRaw("lower(images.name) = lower(?)", [name]).whereNull("images.deleted_at");
  const rows = (await whereVisibleTo(knex, q, "images", p)
    .select(COLUMNS)
    .orderByRaw("images.tenant_id IS NULL")) as ImageRow[];
  const own =
    rows.find((r) => r.tenant_id !== null && r.tenant_id === p.tenantId) ??
    rows.find((r) => r.tenant_id === null) ??
    rows[0];
  return own ? toImage(own) : undefined;
}

export interface ImageFilter {
  imageType?: ImageType;
  baseOs?: string;
  visibility?: Visibility;
  status?: CatalogStatus;
  tenantId?: string;
}

/** Creation order (UUIDv7 ids); the page key is the id. */
export async function listImages(
  knex: Knex,
  p: Principal,
  filter: ImageFilter,
  page: PageRequest,
): Promise<Page<Image>> {
  const q = knex("images").whereNull("images.deleted_at");
  if (filter.imageType) q.where("images.image_type", filter.imageType);
  if (filter.baseOs) q.whereRaw("lower(images.base_os) = lower(?)", [filter.baseOs]);
  if (filter.visibility) q.where("images.visibility", filter.visibility);
  if (filter.status) q.where("images.status", filter.status);
  if (filter.tenantId) q.where("images.tenant_id", filter.tenantId);
  if (page.after) q.where("images.id", ">", page.after[0]!);
  const rows = (await whereVisibleTo(knex, q, "images", p)
    .select(COLUMNS)
    .orderBy("images.id")
    .limit(page.pageSize + 1)) as ImageRow[];
  return pageOf(rows.map(toImage), page, (i) => [i.id]);
}

export async function updateImage(
  trx: Knex,
  id: string,
  patch: Partial<ImageFields> & { status?: CatalogStatus },
  actorId: string,
  now: Date,
): Promise<Image> {
  const { status, ...fields } = patch;
  const [row] = await trx("images")
    .where({ id })
    .whereNull("deleted_at")
    .update({ ...fieldsToRow(fields), ...(status ? { status } : {}), updated_at: now, updated_by: actorId })
    .returning(COLUMNS.map((c) => c.slice("images.".length)));
  if (!row) throw new NotFoundError("image", id);
  return toImage(row as ImageRow);
}

export async function softDeleteImage(trx: Knex, id: string, actorId: string, now: Date): Promise<void> {
  await trx("images")
    .where({ id })
    .whereNull("deleted_at")
    .update({ deleted_at: now, updated_at: now, updated_by: actorId });
}
