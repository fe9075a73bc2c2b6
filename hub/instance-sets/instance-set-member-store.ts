import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { newId } from "../db/ids.js";
import type { InstanceSetMember, MemberRole } from "./instance-set.js";

const COLUMNS = ["id", "instance_set_id", "user_id", "role", "joined_at", "added_by"].map(
  (c) => `instance_set_members.${c}`,
);

type Row = Record<string, unknown>;

function toMember(r: Row): InstanceSetMember {
  return {
    id: r.id as string,
    instanceSetId: r.instance_set_id as string,
    userId: r.user_id as string,
    role: r.role as MemberRole,
    joinedAt: new Date(r.joined_at as string),
    addedBy: (r.added_by as string | null) ?? null,
  };
}

/** The user's live membership of the set, if any. */
export async function membershipOf(
  knex: Knex,
  instanceSetId: string,
  userId: string,
): Promise<InstanceSetMember | undefined> {
  const row = (await knex("instance_set_members")
    .where({ instance_set_id: instanceSetId, user_id: userId })
    .whereNull("removed_at")
    .first(COLUMNS)) as Row | undefined;
  return row ? toMember(row) : undefined;
}

/** Live members of many users at once (a batch), by user id. */
export async function membershipsOf(
  knex: Knex,
  instanceSetId: string,
  userIds: readonly string[],
): Promise<Map<string, InstanceSetMember>> {
  if (userIds.length === 0) return new Map();
  const rows = (await knex("instance_set_members")
    .where({ instance_set_id: instanceSetId })
    .whereIn("user_id", userIds)
    .whereNull("removed_at")
    .select(COLUMNS)) as Row[];
  return new Map(rows.map((r) => [r.user_id as string, toMember(r)]));
}

/**
 * Inserts a live membership. The partial unique index (one live membership per set and user)
 * refuses a concurrent duplicate; callers check first for a readable already_exists.
 */
export async function insertMember(
  trx: Knex.Transaction,
  m: { instanceSetId: string; userId: string; role: MemberRole; at: Date; addedBy: string },
): Promise<InstanceSetMember> {
  const row = {
    id: newId(),
    instance_set_id: m.instanceSetId,
    user_id: m.userId,
    role: m.role,
    joined_at: m.at,
    added_by: m.addedBy,
  };
  await trx("instance_set_members").insert(row);
  return toMember(row as unknown as Row);
}

/** Ends a live membership (the row stays, with removed_at); false when there was none. */
export async function endMembership(
  trx: Knex.Transaction,
  instanceSetId: string,
  userId: string,
  at: Date,
  by: string,
): Promise<boolean> {
  const n = await trx("instance_set_members")
    .where({ instance_set_id: instanceSetId, user_id: userId })
    .whereNull("removed_at")
    .update({ removed_at: at, removed_by: by });
  return n > 0;
}

/** Ends every live membership of a deleted set. */
export async function endAllMemberships(trx: Knex.Transaction, instanceSetId: string, at: Date, by: string) {
  return trx("instance_set_members")
    .where({ instance_set_id: instanceSetId })
    .whereNull("removed_at")
    .update({ removed_at: at, removed_by: by });
}

/** Live members in join order, keyset-paged on id (v7). */
export async function listMembers(
  knex: Knex,
  instanceSetId: string,
  page: PageRequest,
): Promise<Page<InstanceSetMember>> {
  const q = knex("instance_set_members")
    .where({ instance_set_id: instanceSetId })
    .whereNull("removed_at")
    .orderBy("id")
    .limit(page.pageSize + 1)
    .select(COLUMNS);
  if (page.after) q.where("id", ">", page.after[0]!);
  return pageOf(((await q) as Row[]).map(toMember), page, (m) => [m.id]);
}

/** The user's live role in each of the given sets, by set id. */
export async function membershipsOfUser(
  knex: Knex,
  userId: string,
  instanceSetIds: readonly string[],
): Promise<Map<string, MemberRole>> {
  if (instanceSetIds.length === 0) return new Map();
  const rows = (await knex("instance_set_members")
    .where({ user_id: userId })
    .whereIn("instance_set_id", instanceSetIds)
    .whereNull("removed_at")
    .select("instance_set_id", "role")) as { instance_set_id: string; role: MemberRole }[];
  return new Map(rows.map((r) => [r.instance_set_id, r.role]));
}
