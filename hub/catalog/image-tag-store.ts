import type { Knex } from "knex";
import type { ImageTag } from "./image.js";
import type { TagKind } from "./image-tag-rules.js";

const COLUMNS = ["id", "image_id", "version_id", "tag_name", "tag_kind", "is_immutable", "created_at", "updated_at"];

interface TagRow {
  id: string; image_id: string; version_id: string; tag_name: string; tag_kind: TagKind; is_immutable: boolean; created_at: Date; updated_at: Date;
}

function toTag(r: TagRow): ImageTag {
  return {
    id: r.id, imageId: r.image_id, versionId: r.version_id, tagName: r.tag_name, kind: r.tag_kind, isImmutable: r.is_immutable,
    createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at),
  };
}

/** The live tag `tagName` of an image, locked for the caller's transaction. */
export async function findTagForUpdate(trx: Knex, imageId: string, tagName: string): Promise<ImageTag | undefined> {
  const row = (await trx("image_tags").where({ image_id: imageId, tag_name: tagName }).whereNull("deleted_at").forUpdate().first(COLUMNS)) as TagRow | undefined;
  return row ? toTag(row) : undefined;
}

export async function findTag(knex: Knex, imageId: string, tagName: string): Promise<ImageTag | undefined> {
  const row = (await knex("image_tags").where({ image_id: imageId, tag_name: tagName }).whereNull("deleted_at").first(COLUMNS)) as TagRow | undefined;
  return row ? toTag(row) : undefined;
}

export async function insertTag(trx: Knex, t: { id: string; imageId: string; versionId: string; tagName: string; kind: TagKind; actorId: string; now: Date }): Promise<ImageTag> {
  const [row] = await trx("image_tags").insert({
    id: t.id, image_id: t.imageId, version_id: t.versionId, tag_name: t.tagName, tag_kind: t.kind, is_immutable: t.kind === "version",
    created_at: t.now, updated_at: t.now, created_by: t.actorId, updated_by: t.actorId,
  }).returning(COLUMNS);
  return toTag(row as TagRow);
}

export async function repointTag(trx: Knex, tagId: string, versionId: string, actorId: string, now: Date): Promise<ImageTag> {
  const [row] = await trx("image_tags").where({ id: tagId }).update({ version_id: versionId, updated_at: now, updated_by: actorId }).returning(COLUMNS);
  return toTag(row as TagRow);
}

export async function softDeleteTag(trx: Knex, tagId: string, actorId: string, now: Date): Promise<void> {
  await trx("image_tags").where({ id: tagId }).update({ deleted_at: now, updated_at: now, updated_by: actorId });
}

/** Removes every mutable tag pointing at a version (000 §6.4.3 deprecate); returns their names. */
export async function dropMutableTagsOf(trx: Knex, versionId: string, actorId: string, now: Date): Promise<string[]> {
  const rows = (await trx("image_tags").where({ version_id: versionId, is_immutable: false }).whereNull("deleted_at")
    .update({ deleted_at: now, updated_at: now, updated_by: actorId }).returning(["tag_name"])) as { tag_name: string }[];
  return rows.map((r) => r.tag_name).sort();
}

export async function listTags(knex: Knex, imageId: string, versionId?: string): Promise<ImageTag[]> {
  const q = knex("image_tags").where({ image_id: imageId }).whereNull("deleted_at");
  if (versionId) q.where({ version_id: versionId });
  return ((await q.select(COLUMNS).orderBy("tag_name")) as TagRow[]).map(toTag);
}
