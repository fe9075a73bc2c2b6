import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { NotFoundError } from "../domain/errors.js";

export type FirmwareVersionStatus = "available" | "deleted";

/** A firmware version: the file's identity (sha256, size), the hub's signature, the models it fits. */
export interface FirmwareVersion {
  id: string;
  version: string;
  description: string;
  sha256: string;
  sizeBytes: number;
  signature: string;
  models: string[];
  status: FirmwareVersionStatus;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
}

interface Row {
  id: string;
  version: string;
  description: string;
  sha256: string;
  size_bytes: string | number;
  signature: string;
  models: string[] | string;
  status: FirmwareVersionStatus;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
}

const COLUMNS = [
  "id",
  "version",
  "description",
  "sha256",
  "size_bytes",
  "signature",
  "models",
  "status",
  "created_at",
  "updated_at",
  "created_by",
].map((c) => `firmware_versions.${c}`);

function toVersion(r: Row): FirmwareVersion {
  return {
    id: r.id,
    version: r.version,
    description: r.description,
    sha256: r.sha256,
    sizeBytes: Number(r.size_bytes),
    signature: r.signature,
    models: typeof r.models === "string" ? (JSON.parse(r.models) as string[]) : r.models,
    status: r.status,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    createdBy: r.created_by,
  };
}

/** A live version by id; NotFoundError when absent or deleted. */
export async function getFirmwareVersion(
  knex: Knex,
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<FirmwareVersion> {
  const q = knex("firmware_versions").where({ id }).whereNull("deleted_at").first<Row | undefined>(COLUMNS);
  const row = await (opts.forUpdate ? q.forUpdate() : q);
  if (!row) throw new NotFoundError("firmware version", id);
  return toVersion(row);
}

/** The live version with this version string, if any. */
export async function findFirmwareVersion(
  knex: Knex,
  version: string,
  forUpdate = false,
): Promise<FirmwareVersion | undefined> {
  const q = knex("firmware_versions").where({ version }).whereNull("deleted_at").first<Row | undefined>(COLUMNS);
  const row = await (forUpdate ? q.forUpdate() : q);
  return row ? toVersion(row) : undefined;
}

export async function insertFirmwareVersion(
  trx: Knex.Transaction,
  v: Omit<FirmwareVersion, "status" | "updatedAt">,
): Promise<FirmwareVersion> {
  const [row] = await trx("firmware_versions")
    .insert({
      id: v.id,
      version: v.version,
      description: v.description,
      sha256: v.sha256,
      size_bytes: v.sizeBytes,
      signature: v.signature,
      models: JSON.stringify(v.models),
      status: "available",
      created_at: v.createdAt,
      updated_at: v.createdAt,
      created_by: v.createdBy,
      updated_by: v.createdBy,
    })
    .returning<Row[]>(COLUMNS);
  return toVersion(row!);
}

export async function markFirmwareVersionDeleted(
  trx: Knex.Transaction,
  id: string,
  at: Date,
  by: string,
): Promise<FirmwareVersion> {
  const [row] = await trx("firmware_versions")
    .where({ id })
    .whereNull("deleted_at")
    .update({ status: "deleted", deleted_at: at, updated_at: at, updated_by: by })
    .returning<Row[]>(COLUMNS);
  if (!row) throw new NotFoundError("firmware version", id);
  return toVersion(row);
}

/** Live versions, newest first, keyset (created_at, id). */
export async function listFirmwareVersions(knex: Knex, page: PageRequest): Promise<Page<FirmwareVersion>> {
  const q = knex("firmware_versions").whereNull("deleted_at");
  if (page.after) q.whereRaw("(created_at, id) < (?::timestamptz, ?::uuid)", [page.after[0]!, page.after[1]!]);
  const rows = await q
    .orderBy([
      { column: "created_at", order: "desc" },
      { column: "id", order: "desc" },
    ])
    .limit(page.pageSize + 1)
    .select<Row[]>(COLUMNS);
  return pageOf(rows.map(toVersion), page, (v) => [v.createdAt.toISOString(), v.id]);
}
