import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { NotFoundError } from "../domain/errors.js";

export type RolloutStatus = "in_progress" | "completed" | "cancelled";
export type RolloutBoxStatus =
  "pending" | "downloading" | "installed" | "rolled_back" | "refused" | "failed" | "cancelled";
export const UNFINISHED_BOX_STATUSES = ["pending", "downloading"] as const;
export type RolloutTargetKind = "box_ids" | "tag" | "percentage";

export interface RolloutBox {
  id: string;
  boxId: string;
  agentId: string;
  commandId: string | null;
  status: RolloutBoxStatus;
  detail: string;
  activeSlot: string;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

export interface FirmwareRollout {
  id: string;
  firmwareVersionId: string;
  version: string;
  targetKind: RolloutTargetKind;
  targetBoxIds: string[];
  targetTag: string | null;
  targetPercentage: number | null;
  healthDeadlineMs: number;
  status: RolloutStatus;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  createdBy: string | null;
  /** Empty in lists. */
  boxes: RolloutBox[];
}

interface RolloutRow {
  id: string;
  firmware_version_id: string;
  version: string;
  target_kind: RolloutTargetKind;
  target_box_ids: string[] | string;
  target_tag: string | null;
  target_percentage: number | null;
  health_deadline_ms: number;
  status: RolloutStatus;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  created_by: string | null;
}

interface BoxRow {
  id: string;
  box_id: string;
  agent_id: string;
  command_id: string | null;
  status: RolloutBoxStatus;
  detail: string;
  active_slot: string;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

const ROLLOUT_COLUMNS = [
  ...[
    "id",
    "firmware_version_id",
    "target_kind",
    "target_box_ids",
    "target_tag",
    "target_percentage",
    "health_deadline_ms",
    "status",
    "created_at",
    "updated_at",
    "finished_at",
    "created_by",
  ].map((c) => `firmware_rollouts.${c}`),
  "firmware_versions.version",
];
const BOX_COLUMNS = [
  "id",
  "box_id",
  "agent_id",
  "command_id",
  "status",
  "detail",
  "active_slot",
  "started_at",
  "finished_at",
  "updated_at",
].map((c) => `firmware_rollout_boxes.${c}`);

const dateOrNull = (d: Date | null) => (d ? new Date(d) : null);

function toRollout(r: RolloutRow, boxes: RolloutBox[]): FirmwareRollout {
  return {
    id: r.id,
    firmwareVersionId: r.firmware_version_id,
    version: r.version,
    targetKind: r.target_kind,
    targetBoxIds: typeof r.target_box_ids === "string" ? (JSON.parse(r.target_box_ids) as string[]) : r.target_box_ids,
    targetTag: r.target_tag,
    targetPercentage: r.target_percentage,
    healthDeadlineMs: r.health_deadline_ms,
    status: r.status,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    finishedAt: dateOrNull(r.finished_at),
    createdBy: r.created_by,
    boxes,
  };
}

function toBox(r: BoxRow): RolloutBox {
  return {
    id: r.id,
    boxId: r.box_id,
    agentId: r.agent_id,
    commandId: r.command_id,
    status: r.status,
    detail: r.detail,
    activeSlot: r.active_slot,
    startedAt: dateOrNull(r.started_at),
    finishedAt: dateOrNull(r.finished_at),
    updatedAt: new Date(r.updated_at),
  };
}

function rolloutQuery(knex: Knex) {
  return knex("firmware_rollouts").join(
    "firmware_versions",
    "firmware_versions.id",
    "firmware_rollouts.firmware_version_id",
  );
}

/** A rollout with its boxes (box id order); NotFoundError when absent. */
export async function getFirmwareRollout(knex: Knex, id: string, forUpdate = false): Promise<FirmwareRollout> {
  const q = rolloutQuery(knex).where("firmware_rollouts.id", id).first<RolloutRow | undefined>(ROLLOUT_COLUMNS);
  const row = await (forUpdate ? q.forUpdate("firmware_rollouts") : q);
  if (!row) throw new NotFoundError("firmware rollout", id);
  const boxes = await knex("firmware_rollout_boxes")
    .where("rollout_id", id)
    .orderBy("box_id")
    .select<BoxRow[]>(BOX_COLUMNS);
  return toRollout(row, boxes.map(toBox));
}

export interface RolloutListQuery {
  firmwareVersionId: string | null;
  status: RolloutStatus | null;
  page: PageRequest;
}

/** Rollouts newest first, keyset (created_at, id); without their boxes. */
export async function listFirmwareRollouts(knex: Knex, query: RolloutListQuery): Promise<Page<FirmwareRollout>> {
  const q = rolloutQuery(knex);
  if (query.firmwareVersionId) q.where("firmware_rollouts.firmware_version_id", query.firmwareVersionId);
  if (query.status) q.where("firmware_rollouts.status", query.status);
  if (query.page.after)
    q.whereRaw("(firmware_rollouts.created_at, firmware_rollouts.id) < (?::timestamptz, ?::uuid)", [
      query.page.after[0]!,
      query.page.after[1]!,
    ]);
  const rows = await q
    .orderBy([
      { column: "firmware_rollouts.created_at", order: "desc" },
      { column: "firmware_rollouts.id", order: "desc" },
    ])
    .limit(query.page.pageSize + 1)
    .select<RolloutRow[]>(ROLLOUT_COLUMNS);
  return pageOf(
    rows.map((r) => toRollout(r, [])),
    query.page,
    (r) => [r.createdAt.toISOString(), r.id],
  );
}

/** Whether any unfinished rollout box installs this version (a version in use cannot be deleted). */
export async function versionHasUnfinishedRollout(knex: Knex, firmwareVersionId: string): Promise<boolean> {
  const row = await knex("firmware_rollouts")
    .where({ firmware_version_id: firmwareVersionId, status: "in_progress" })
    .first("id");
  if (row) return true;
  const box = await knex("firmware_rollout_boxes")
    .join("firmware_rollouts", "firmware_rollouts.id", "firmware_rollout_boxes.rollout_id")
    .where("firmware_rollouts.firmware_version_id", firmwareVersionId)
    .whereIn("firmware_rollout_boxes.status", UNFINISHED_BOX_STATUSES)
    .first("firmware_rollout_boxes.id");
  return box !== undefined;
}
