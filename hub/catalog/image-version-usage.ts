import type { Knex } from "knex";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import type { CatalogStatus } from "./catalog-enums.js";

/**
 * The usage hook of 000 §6.4.4 for the instance issue. There is no instances table yet, so the
 * catalog keeps one `image_version_usage` row per live instance running an image version:
 *
 *   recordImageVersionUse(trx, …)   in the transaction that creates the instance
 *   releaseImageVersionUse(trx, id) in the transaction that deletes it (or moves it to another version)
 *
 * Recording locks the version row FOR SHARE and refuses a version that is not active, so a
 * concurrent archive (which locks it FOR UPDATE and counts usage) can never miss a new user.
 */
export async function recordImageVersionUse(
  trx: Knex.Transaction,
  use: { instanceId: string; imageVersionId: string; tagUsed?: string; now: Date },
): Promise<void> {
  const version = (await trx("image_versions")
    .where({ id: use.imageVersionId })
    .whereNull("deleted_at")
    .forShare()
    .first(["id", "image_id", "status", "version_number"])) as
    { id: string; image_id: string; status: string; version_number: string } | undefined;
  if (!version) throw new NotFoundError("image version", use.imageVersionId);
  if (version.status !== "active") {
    throw new FailedPreconditionError(
      `Cannot create an instance from image version ${version.version_number}: the version is ${version.status}`,
      {
        reason: "VERSION_NOT_ACTIVE",
        metadata: { version_number: version.version_number, status: version.status },
      },
    );
  }
  await trx("image_version_usage").insert({
    instance_id: use.instanceId,
    image_version_id: version.id,
    image_id: version.image_id,
    image_tag_used: use.tagUsed ?? "",
    recorded_at: use.now,
  });
}

export async function releaseImageVersionUse(trx: Knex.Transaction, instanceId: string): Promise<void> {
  await trx("image_version_usage").where({ instance_id: instanceId }).delete();
}

/** How many instances use a version. */
export async function instancesUsingVersion(knex: Knex, imageVersionId: string): Promise<number> {
  const [row] = await knex("image_version_usage")
    .where({ image_version_id: imageVersionId })
    .count<{ n: number }[]>({ n: "*" });
  return Number(row?.n ?? 0);
}

export interface VersionUsage {
  versionId: string;
  versionNumber: string;
  status: CatalogStatus;
  instanceCount: number;
}

/** 000 §6.4.4 "版本使用统计": every live version of an image with its instance count, newest first. */
export async function imageVersionUsage(knex: Knex, imageId: string): Promise<VersionUsage[]> {
  const rows = (await knex("image_versions as iv")
    .leftJoin("image_version_usage as u", "u.image_version_id", "iv.id")
    .where("iv.image_id", imageId)
    .whereNull("iv.deleted_at")
    .groupBy("iv.id", "iv.version_number", "iv.status", "iv.major", "iv.minor", "iv.patch")
    .orderBy([
      { column: "iv.major", order: "desc" },
      { column: "iv.minor", order: "desc" },
      { column: "iv.patch", order: "desc" },
    ])
    .select("iv.id", "iv.version_number", "iv.status", knex.raw("count(u.instance_id) as instance_count"))) as {
    id: string;
    version_number: string;
    status: CatalogStatus;
    instance_count: number | string;
  }[];
  return rows.map((r) => ({
    versionId: r.id,
    versionNumber: r.version_number,
    status: r.status,
    instanceCount: Number(r.instance_count),
  }));
}
