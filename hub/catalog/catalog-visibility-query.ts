import type { Knex } from "knex";
import type { Principal } from "../api/principal.js";

/**
 * canSeeCatalogItem (catalog-access.ts) as a WHERE clause on `table` (images or templates), so
 * lists filter and paginate in the database. Keep the two in step.
 */
export function whereVisibleTo(knex: Knex, qb: Knex.QueryBuilder, table: string, p: Principal): Knex.QueryBuilder {
  if (p.role === "admin" || p.role === "operator") return qb;
  const col = (c: string) => `${table}.${c}`;
  const sharesGroup = knex
    .select(knex.raw("1"))
    .from("user_group_members as mo")
    .join("user_group_members as mp", "mp.group_id", "mo.group_id")
    .join("user_groups as g", "g.id", "mo.group_id")
    .whereNull("g.deleted_at")
    .whereRaw("?? = ??", ["mo.user_id", col("owner_id")])
    .where("mp.user_id", p.userId);
  const asUser = (q: Knex.QueryBuilder) =>
    q
      .where(col("visibility"), "public")
      .orWhere(col("owner_id"), p.userId)
      .orWhere((g) => g.where(col("visibility"), "group_specific").whereExists(sharesGroup));
  return qb.where((outer) => {
    if (p.tenantId === null) outer.whereNull(col("tenant_id")).where(asUser);
    else if (p.role === "tenant_admin")
      outer.where(col("tenant_id"), p.tenantId).orWhere((q) => q.whereNull(col("tenant_id")).where(asUser));
    else outer.where((q) => q.whereNull(col("tenant_id")).orWhere(col("tenant_id"), p.tenantId)).where(asUser);
  });
}

/** Whether `userId` and `ownerId` share a live user group (for the pure rule on single items). */
export async function sharesGroupWith(knex: Knex, userId: string, ownerId: string): Promise<boolean> {
  if (userId === ownerId) return true;
  const row = await knex("user_group_members as mo")
    .join("user_group_members as mp", "mp.group_id", "mo.group_id")
    .join("user_groups as g", "g.id", "mo.group_id")
    .whereNull("g.deleted_at")
    .where("mo.user_id", ownerId)
    .where("mp.user_id", userId)
    .first(knex.raw("1 as one"));
  return row !== undefined;
}
