import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { NotFoundError } from "../domain/errors.js";
import { LIVE_ATTACHMENT_STATUSES, type AttachableDisk, type DiskAttachment } from "./disk-attachment.js";

export const ATTACHMENTS = "instance_private_data_disk_attachments";

const COLUMNS = [
  "id",
  "instance_id",
  "disk_id",
  "mount_path",
  "mount_mode",
  "share_mode",
  "target_dev",
  "status",
  "error",
  "origin",
  "command_id",
  "attached_at",
  "attached_by",
  "detached_at",
  "created_at",
  "updated_at",
].map((c) => `${ATTACHMENTS}.${c}`);

type Row = Record<string, unknown>;
const date = (v: unknown) => (v ? new Date(v as string) : null);

function toAttachment(r: Row): DiskAttachment {
  return {
    id: r.id as string,
    instanceId: r.instance_id as string,
    diskId: r.disk_id as string,
    mountPath: r.mount_path as string,
    mountMode: r.mount_mode as DiskAttachment["mountMode"],
    shareMode: r.share_mode as DiskAttachment["shareMode"],
    targetDev: r.target_dev as string,
    status: r.status as DiskAttachment["status"],
    error: r.error as string,
    origin: r.origin as DiskAttachment["origin"],
    commandId: (r.command_id as string | null) ?? null,
    attachedAt: date(r.attached_at),
    attachedBy: (r.attached_by as string | null) ?? null,
    detachedAt: date(r.detached_at),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

export async function getAttachment(knex: Knex, id: string, options: { lock?: boolean } = {}): Promise<DiskAttachment> {
  const q = knex(ATTACHMENTS).where(`${ATTACHMENTS}.id`, id).whereNull("deleted_at").first(COLUMNS);
  if (options.lock) q.forUpdate();
  const row = (await q) as Row | undefined;
  if (!row) throw new NotFoundError("disk attachment", id);
  return toAttachment(row);
}

/** The live (not detached) attachment of this disk to this instance, if any (failed ones included). */
export async function attachmentOf(
  knex: Knex,
  instanceId: string,
  diskId: string,
): Promise<DiskAttachment | undefined> {
  const row = (await knex(ATTACHMENTS)
    .where({ instance_id: instanceId, disk_id: diskId })
    .whereNull("deleted_at")
    .orderBy("id", "desc")
    .first(COLUMNS)) as Row | undefined;
  return row ? toAttachment(row) : undefined;
}

/** The attachments of one instance that hold their disk (attaching, attached, detaching). */
export async function liveAttachmentsOfInstance(knex: Knex, instanceId: string): Promise<DiskAttachment[]> {
  const rows = (await knex(ATTACHMENTS)
    .where({ instance_id: instanceId })
    .whereNull("deleted_at")
    .whereIn("status", LIVE_ATTACHMENT_STATUSES)
    .orderBy("id")
    .select(COLUMNS)) as Row[];
  return rows.map(toAttachment);
}

export interface AttachmentListQuery {
  diskId: string | null;
  instanceId: string | null;
  /** Only attachments of disks of this tenant / owned by this user (a listing without a disk or instance). */
  diskTenantId?: string;
  diskUserId?: string;
}

/** Not-detached attachments (failed ones included, with their error), oldest first, keyset-paged on id. */
export async function listAttachments(
  knex: Knex,
  filter: AttachmentListQuery,
  page: PageRequest,
): Promise<Page<DiskAttachment>> {
  const q = knex(ATTACHMENTS)
    .whereNull(`${ATTACHMENTS}.deleted_at`)
    .orderBy(`${ATTACHMENTS}.id`)
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (filter.diskId) q.where(`${ATTACHMENTS}.disk_id`, filter.diskId);
  if (filter.instanceId) q.where(`${ATTACHMENTS}.instance_id`, filter.instanceId);
  if (filter.diskTenantId || filter.diskUserId) {
    const disks = knex("private_data_disks").select("id");
    if (filter.diskTenantId) disks.where({ tenant_id: filter.diskTenantId });
    if (filter.diskUserId) disks.where({ user_id: filter.diskUserId });
    q.whereIn(`${ATTACHMENTS}.disk_id`, disks);
  }
  if (page.after) q.where(`${ATTACHMENTS}.id`, ">", page.after[0]!);
  return pageOf(((await q) as Row[]).map(toAttachment), page, (a) => [a.id]);
}

const DISK_COLUMNS = [
  "id",
  "user_id",
  "tenant_id",
  "name",
  "disk_type",
  "status",
  "share_mode",
  "max_attachments",
  "attachment_count",
  "rbd_pool",
  "rbd_image_name",
  "storage_pool_id",
  "created_at",
].map((c) => `private_data_disks.${c}`);

export function toDisk(r: Row): AttachableDisk {
  return {
    id: r.id as string,
    userId: r.user_id as string,
    tenantId: r.tenant_id as string,
    name: r.name as string,
    diskType: r.disk_type as AttachableDisk["diskType"],
    status: r.status as string,
    shareMode: r.share_mode as AttachableDisk["shareMode"],
    maxAttachments: Number(r.max_attachments),
    attachmentCount: Number(r.attachment_count),
    rbdPool: r.rbd_pool as string,
    rbdImageName: r.rbd_image_name as string,
    storagePoolId: r.storage_pool_id as string,
    createdAt: new Date(r.created_at as string),
  };
}

export async function getDisk(knex: Knex, id: string): Promise<AttachableDisk> {
  const row = (await knex("private_data_disks")
    .where("private_data_disks.id", id)
    .whereNull("deleted_at")
    .first(DISK_COLUMNS)) as Row | undefined;
  if (!row) throw new NotFoundError("private data disk", id);
  return toDisk(row);
}

/** 000 §8.2.2: the owner's disks that may attach (available or attached), in creation order. */
export async function attachableDisksOf(knex: Knex, userId: string): Promise<AttachableDisk[]> {
  const rows = (await knex("private_data_disks")
    .where({ user_id: userId })
    .whereNull("deleted_at")
    .whereIn("status", ["available", "attached"])
    .orderBy([{ column: "created_at" }, { column: "id" }])
    .select(DISK_COLUMNS)) as Row[];
  return rows.map(toDisk);
}
