import type { Knex } from "knex";
import {
  DIMENSIONS,
  limitsFromConfig,
  round3,
  zeroResources,
  type QuotaLimits,
  type Resources,
} from "./quota-dimensions.js";
import type { QUOTA_HOLDER_TYPE, QUOTA_MODE } from "./quota-enums.js";

/** A quota holder of 000 §10.4.2. Groups hold no ledger rows: their use is derived from members. */
export type HolderType = (typeof QUOTA_HOLDER_TYPE.dbValues)[number];
export type QuotaMode = (typeof QUOTA_MODE.dbValues)[number];

const SUM_COLUMNS = DIMENSIONS.map((d) => `coalesce(sum(occ_${d}), 0) as ${d}`).join(", ");

function toResources(row: Record<string, unknown> | undefined): Resources {
  const out = zeroResources();
  if (!row) return out;
  for (const d of DIMENSIONS) out[d] = round3(Number(row[d] ?? 0));
  return out;
}

/** What the ledger holds for a tenant, a user or an instance set. */
export async function ledgerUsage(
  knex: Knex | Knex.Transaction,
  holder: "tenant" | "user" | "instance_set",
  id: string,
): Promise<Resources> {
  const column = holder === "tenant" ? "tenant_id" : holder === "user" ? "user_id" : "instance_set_id";
  const row = await knex("quota_consumers").where(column, id).first(knex.raw(SUM_COLUMNS));
  return toResources(row as Record<string, unknown> | undefined);
}

/** Live users who are members of the group or of any of its live descendants. */
export async function groupMemberIds(knex: Knex | Knex.Transaction, groupId: string): Promise<string[]> {
  const res = await knex.raw(
    `WITH RECURSIVE sub(id) AS (
       SELECT id FROM user_groups WHERE id = ? AND deleted_at IS NULL
       UNION SELECT g.id FROM user_groups g JOIN sub ON g.parent_group_id = sub.id WHERE g.deleted_at IS NULL)
     SELECT DISTINCT m.user_id FROM user_group_members m JOIN sub ON m.group_id = sub.id
       JOIN users u ON u.id = m.user_id WHERE u.deleted_at IS NULL`,
    [groupId],
  );
  return (res.rows as { user_id: string }[]).map((r) => r.user_id);
}

/** The group and its live ancestors of each group the user belongs to: the groups whose quota a user's use can reach. */
export async function groupsAboveUser(knex: Knex | Knex.Transaction, userId: string): Promise<string[]> {
  const res = await knex.raw(
    `WITH RECURSIVE anc(id, parent_group_id) AS (
       SELECT g.id, g.parent_group_id FROM user_groups g JOIN user_group_members m ON m.group_id = g.id
         WHERE m.user_id = ? AND g.deleted_at IS NULL
       UNION SELECT p.id, p.parent_group_id FROM user_groups p JOIN anc ON p.id = anc.parent_group_id WHERE p.deleted_at IS NULL)
     SELECT DISTINCT id FROM anc`,
    [userId],
  );
  return (res.rows as { id: string }[]).map((r) => r.id);
}

interface MemberUsage {
  userId: string;
  used: Resources;
  limits: QuotaLimits;
}

async function memberUsages(knex: Knex | Knex.Transaction, memberIds: readonly string[]): Promise<MemberUsage[]> {
  if (memberIds.length === 0) return [];
  const sums = await knex("quota_consumers")
    .whereIn("user_id", memberIds)
    .groupBy("user_id")
    .select("user_id", knex.raw(SUM_COLUMNS));
  const limits = await knex("users").whereIn("id", memberIds).select("id", "quota_config");
  const byUser = new Map(sums.map((r: Record<string, unknown>) => [r.user_id as string, toResources(r)]));
  return limits.map((u: { id: string; quota_config: unknown }) => ({
    userId: u.id,
    used: byUser.get(u.id) ?? zeroResources(),
    limits: limitsFromConfig(u.quota_config),
  }));
}

/** What a user borrows from a hybrid group: use above its own limit (none where it has no limit). */
export function borrowed(used: Resources, limits: QuotaLimits): Resources {
  const out = zeroResources();
  for (const d of DIMENSIONS) {
    const limit = limits[d];
    if (limit !== undefined) out[d] = round3(Math.max(0, used[d] - limit));
  }
  return out;
}

/**
 * A group's use: in independent and shared mode, everything its members (and members of its
 * subgroups) use; in hybrid mode, only what they borrow beyond their own quotas.
 */
export async function groupUsage(knex: Knex | Knex.Transaction, groupId: string, mode: QuotaMode): Promise<Resources> {
  const members = await memberUsages(knex, await groupMemberIds(knex, groupId));
  const out = zeroResources();
  for (const m of members) {
    const part = mode === "hybrid" ? borrowed(m.used, m.limits) : m.used;
    for (const d of DIMENSIONS) out[d] = round3(out[d] + part[d]);
  }
  return out;
}
