import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { requireId } from "../api/resource-id.js";
import { NotFoundError } from "../domain/errors.js";
import type { BoxBinding, CloudBox } from "./cloud-box.js";
import type { DeviceMetrics } from "../cloud-box-devices/box-facts.js";
import type { BoxStatus } from "../cloud-box-devices/cloud-box-lifecycle.js";

const COLUMNS = [
  "id",
  "agent_id",
  "name",
  "serial_number",
  "mac_address",
  "model",
  "manufacturer",
  "location",
  "tags",
  "assigned_user_id",
  "edge_data_center_id",
  "status",
  "firmware_version",
  "ip_address",
  "network_mode",
  "gateway",
  "dns_servers",
  "subnet_mask",
  "last_metrics",
  "last_metrics_at",
  "last_boot_at",
  "created_at",
  "updated_at",
].map((c) => `b.${c}`);

type Row = Record<string, unknown>;

const dateOrNull = (v: unknown) => (v ? new Date(v as string) : null);

function toBox(r: Row): CloudBox {
  return {
    id: r.id as string,
    agentId: r.agent_id as string,
    name: r.name as string,
    serialNumber: r.serial_number as string,
    macAddress: r.mac_address as string,
    model: r.model as string,
    manufacturer: r.manufacturer as string,
    location: r.location as string,
    tags: (r.tags as Record<string, string>) ?? {},
    assignedUserId: (r.assigned_user_id as string | null) ?? null,
    edgeDataCenterId: (r.edge_data_center_id as string | null) ?? null,
    status: r.status as BoxStatus,
    firmwareVersion: r.firmware_version as string,
    ipAddress: r.ip_address as string,
    network: {
      mode: (r.network_mode as CloudBox["network"]["mode"]) ?? null,
      gateway: r.gateway as string,
      dnsServers: (r.dns_servers as string[]) ?? [],
      subnetMask: r.subnet_mask as string,
    },
    lastMetrics: (r.last_metrics as DeviceMetrics | null) ?? null,
    lastMetricsAt: dateOrNull(r.last_metrics_at),
    lastBootAt: dateOrNull(r.last_boot_at),
    lastHeartbeatAt: dateOrNull(r.last_heartbeat_at),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

function boxQuery(knex: Knex | Knex.Transaction) {
  return knex("cloud_boxes as b")
    .join("agents as a", "a.id", "b.agent_id")
    .whereNull("b.deleted_at")
    .select([...COLUMNS, "a.last_heartbeat_at"]);
}

/** A live box; `lock` takes FOR UPDATE on its row. */
export async function getCloudBox(
  knex: Knex | Knex.Transaction,
  id: string,
  options: { lock?: boolean } = {},
): Promise<CloudBox> {
  const q = boxQuery(knex).where("b.id", id);
  if (options.lock) q.forUpdate("b");
  const row = (await q.first()) as Row | undefined;
  if (!row) throw new NotFoundError("cloud box", id);
  return toBox(row);
}

/** The box of an agent (the caller of the agent endpoint), or undefined. */
export async function cloudBoxOfAgent(knex: Knex | Knex.Transaction, agentId: string): Promise<CloudBox | undefined> {
  const row = (await boxQuery(knex).where("b.agent_id", agentId).first()) as Row | undefined;
  return row ? toBox(row) : undefined;
}

export interface CloudBoxListQuery {
  status: BoxStatus | null;
  edgeDataCenterId: string | null;
  tagKey: string | null;
  tagValue: string | null;
  assignedUserId: string | null;
}

/** A page of boxes in enrollment order (UUIDv7 ids), keyset-paginated. */
export async function listCloudBoxes(knex: Knex, query: CloudBoxListQuery, page: PageRequest): Promise<Page<CloudBox>> {
  const q = boxQuery(knex)
    .orderBy("b.id")
    .limit(page.pageSize + 1);
  if (query.status) q.where("b.status", query.status);
  if (query.edgeDataCenterId) q.where("b.edge_data_center_id", query.edgeDataCenterId);
  if (query.assignedUserId) q.where("b.assigned_user_id", query.assignedUserId);
  if (query.tagKey !== null) {
    if (query.tagValue !== null) q.whereRaw("b.tags @> ?::jsonb", [JSON.stringify({ [query.tagKey]: query.tagValue })]);
    else q.whereRaw("b.tags \\? ?", [query.tagKey]);
  }
  if (page.after) q.where("b.id", ">", requireId("page_token", page.after[0]!));
  return pageOf(((await q) as Row[]).map(toBox), page, (b) => [b.id]);
}

const BINDING_COLUMNS = ["id", "cloud_box_id", "instance_id", "user_id", "expires_at", "created_at", "created_by"];

function toBinding(r: Row): BoxBinding {
  return {
    id: r.id as string,
    cloudBoxId: r.cloud_box_id as string,
    instanceId: r.instance_id as string,
    userId: r.user_id as string,
    expiresAt: dateOrNull(r.expires_at),
    createdAt: new Date(r.created_at as string),
    createdBy: (r.created_by as string | null) ?? null,
  };
}

/**
 * The live bindings of these boxes. A binding past its expiry is not live even before the expiry
 * loop ends it, so a box never boots into an expired binding while the loop is behind.
 */
export async function liveBindingsOf(
  knex: Knex | Knex.Transaction,
  boxIds: readonly string[],
  now: Date,
): Promise<Map<string, BoxBinding>> {
  if (boxIds.length === 0) return new Map();
  const rows = (await knex("cloud_box_bindings")
    .whereIn("cloud_box_id", [...boxIds])
    .whereNull("ended_at")
    .where((q) => q.whereNull("expires_at").orWhere("expires_at", ">", now))
    .select(BINDING_COLUMNS)) as Row[];
  return new Map(rows.map((r) => [r.cloud_box_id as string, toBinding(r)]));
}

export { toBinding, BINDING_COLUMNS };
