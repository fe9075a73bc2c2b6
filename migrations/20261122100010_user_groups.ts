import type { Knex } from "knex";

// User groups (a tree per tenant, with a quota and a quota mode) and their many-to-many members.
// The catalog relies on these two table names for group visibility.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("user_groups", (t) => {
    t.uuid("id").primary();
    t.uuid("tenant_id").notNullable().references("id").inTable("tenants");
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.uuid("parent_group_id").nullable().references("id").inTable("user_groups");
    t.jsonb("quota_config").notNullable().defaultTo("{}");
    t.text("quota_mode").notNullable().defaultTo("independent");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE user_groups ADD CONSTRAINT user_groups_quota_mode_check CHECK (quota_mode IN ('independent','shared','hybrid'))`,
  );
  await knex.raw(
    `ALTER TABLE user_groups ADD CONSTRAINT user_groups_not_own_parent CHECK (parent_group_id IS NULL OR parent_group_id <> id)`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX user_groups_name_live ON user_groups (tenant_id, lower(name)) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX user_groups_parent ON user_groups (parent_group_id)`);

  await knex.schema.createTable("user_group_members", (t) => {
    t.uuid("group_id").notNullable().references("id").inTable("user_groups");
    t.uuid("user_id").notNullable().references("id").inTable("users");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.primary(["group_id", "user_id"]);
  });
  await knex.raw(`CREATE INDEX user_group_members_user ON user_group_members (user_id)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
