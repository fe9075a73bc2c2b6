import type { Knex } from "knex";
import type { ImageTag } from "./image.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import type { TagKind } from "./catalog-enums.js";

const COLUMNS = ["id", "image_id", "version_id", "tag_name", "tag_kind", "is_immutable", "created_at", "updated_at"];

interface TagRow {
  id: string;
  image_id: string;
  version_id: string;
  tag_name: string;
  tag_kind: TagKind;
  is_immutable: boolean;
  created_at: Date;
  updated_at: Date;
}

function toTag(r: TagRow): ImageTag {
  return {
    id: r.id,
    imageId: r.image_id,
    versionId: r.version_id,
    tagName: r.tag_name,
    kind: r.tag_kind,
    isImmutable: r.is_immutable,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** The live tag `tagName` of an image, locked for the caller's transaction. */
export async function findTagForUpdate(trx: Knex, imageId: string, tagName: string): Promise<ImageTag | undefined> {
  const row = (await trx("image_tags")
    .where({ image_id: imageId, tag_name: tagName })
    .whereNull("deleted_at")
    .forUpdate()
    .first(COLUMNS)) as TagRow | undefined;
  return row ? toTag(row) : undefined;
}

export async function findTag(knex: Knex, imageId: string, tagName: string): Promise<ImageTag | undefined> {
  const row = (await knex("image_tags")
    .where({ image_id: imageId, tag_name: tagName })
    .whereNull("deleted_at")
    .first(COLUMNS)) as TagRow | undefined;
  return row ? toTag(row) : undefined;
}

export async function insertTag(
  trx: Knex,
  t: { id: string; imageId: string; versionId: string; tagName: string; kind: TagKind; actorId: string; now: Date },
): Promise<ImageTag> {
  const [row] = await trx("image_tags")
    .insert({
      id: t.id,
      image_id: t.imageId,
      version_id: t.versionId,
      tag_name: t.tagName,
      tag_kind: t.kind,
      is_immutable: t.kind === "version",
      created_at: t.now,
      updated_at: t.now,
      created_by: t.actorId,
      updated_by: t.actorId,
    })
    .returning(COLUMNS);
  return toTag(row as TagRow);
}

export async function repointTag(
  trx: Knex,
  tagId: string,
  versionId: string,
  actorId: string,
  now: Date,
): Promise<ImageTag> {
  const [row] = await trx("image_tags")
    .where({ id: tagId })
    .update({ version_id: versionId, updated_at: now, updated_by: actorId })
    .returning(COLUMNS);
  return toTag(row as TagRow);
}

export async function softDeleteTag(trx: Knex, tagId: string, actorId: string, now: Date): Promise<void> {
  await trx("image_tags").where({ id: tagId }).update({ deleted_at: now, updated_at: now, updated_by: actorId });
}

/** Removes every mutable tag pointing at a version (000 §6.4.3 deprecate); returns their names. */
export async function dropMutableTagsOf(trx: Knex, versionId: string, actorId: string, now: Date): Promise<string[]> {
  const rows = (await trx("image_tags")
    .where({ version_id: versionId, is_immutable: false })
    .whereNull("deleted_at")
    .update({ deleted_at: now, updated_at: now, updated_by: actorId })
    .returning(["tag_name"])) as { tag_name: string }[];
  return rows.map((r) => r.tag_name).sort();
}

/** Live tags of an image, by name; only those on `versionIds` when given. */
export async function listTags(knex: Knex, imageId: string, versionIds?: readonly string[]): Promise<ImageTag[]> {
  const q = knex("image_tags").where({ image_id: imageId }).whereNull("deleted_at");
  if (versionIds) q.whereIn("version_id", versionIds);
  return ((await q.select(COLUMNS).orderBy("tag_name")) as TagRow[]).map(toTag);
}

/** A page of an image's live tags with the number of the version each points at; the key is the (unique) tag name. */
export async function listTagsPage(
  knex: Knex,
  imageId: string,
  page: PageRequest,
): Promise<Page<{ tag: ImageTag; versionNumber: string }>> {
  const q = knex("image_tags as t")
    .join("image_versions as v", "v.id", "t.version_id")
    .where("t.image_id", imageId)
    .whereNull("t.deleted_at");
  // COLLATE "C": byte order, so the keyset comparison and the ORDER BY agree on every server.
  if (page.after) q.whereRaw(`t.tag_name COLLATE "C" > ?`, [page.after[0]!]);
  const rows = (await q
    .select([...COLUMNS.map((c) => `t.${c}`), "v.version_number"])
    .orderByRaw(`t.tag_name COLLATE "C"`)
    .limit(page.pageSize + 1)) as (TagRow & { version_number: string })[];
  return pageOf(
    rows.map((r) => ({ tag: toTag(r), versionNumber: r.version_number })),
    page,
    (x) => [x.tag.tagName],
  );
}
