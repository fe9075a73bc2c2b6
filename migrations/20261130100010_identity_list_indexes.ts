import type { Knex } from "knex";

// Issue 16: every identity list, filter and search reads in proportion to its answer.
// - ListUsers/ListUserGroups by tenant page through (tenant_id, id), not the primary key filtered by tenant;
// - substring search (username_contains, name_contains) runs `lower(col) LIKE '%…%'` through a
//   pg_trgm GIN index (PGlite loads pg_trgm at open: hub/db/database.ts);
// - Login without a tenant finds a username through lower(username) alone (users_username_live
//   starts with the tenant, and PostgreSQL 15 has no skip scan).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
  await knex.raw(`CREATE INDEX users_tenant_id_live ON users (tenant_id, id) WHERE deleted_at IS NULL`);
  // ListUsers by role or status (rare values: operators, locked accounts) in id order.
  await knex.raw(`CREATE INDEX users_role_id_live ON users (role, id) WHERE deleted_at IS NULL`);
  await knex.raw(`CREATE INDEX users_status_id_live ON users (status, id) WHERE deleted_at IS NULL`);
  await knex.raw(`CREATE INDEX users_username_lower_live ON users (lower(username)) WHERE deleted_at IS NULL`);
  await knex.raw(
    `CREATE INDEX users_username_trgm_live ON users USING gin (lower(username) gin_trgm_ops) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX tenants_name_trgm_live ON tenants USING gin (lower(name) gin_trgm_ops) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX user_groups_tenant_id_live ON user_groups (tenant_id, id) WHERE deleted_at IS NULL`);
  await knex.raw(
    `CREATE INDEX user_groups_parent_id_live ON user_groups (parent_group_id, id) WHERE deleted_at IS NULL`,
  );
  // users_tenant_id_live covers what users_tenant_id served (the foreign-key check on tenant deletion looks at live users).
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
