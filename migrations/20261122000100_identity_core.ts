import type { Knex } from "knex";

// Tenants, users, bearer tokens and the audit log: what login and every later mutation stand on.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("tenants", (t) => {
    t.uuid("id").primary();
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.text("status").notNullable().defaultTo("active");
    t.uuid("admin_user_id").nullable();
    t.integer("vlan_id").nullable();
    t.jsonb("quota_config").notNullable().defaultTo("{}");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE tenants ADD CONSTRAINT tenants_status_check CHECK (status IN ('active','inactive','suspended'))`,
  );
  await knex.raw(
    `ALTER TABLE tenants ADD CONSTRAINT tenants_vlan_id_check CHECK (vlan_id IS NULL OR vlan_id BETWEEN 100 AND 4094)`,
  );
  await knex.raw(`CREATE UNIQUE INDEX tenants_name_live ON tenants (lower(name)) WHERE deleted_at IS NULL`);
  await knex.raw(
    `CREATE UNIQUE INDEX tenants_vlan_id_live ON tenants (vlan_id) WHERE deleted_at IS NULL AND vlan_id IS NOT NULL`,
  );

  await knex.schema.createTable("users", (t) => {
    t.uuid("id").primary();
    t.uuid("tenant_id").nullable().references("id").inTable("tenants");
    t.text("username").notNullable();
    t.text("email").nullable();
    t.text("password_hash").notNullable();
    t.text("role").notNullable();
    t.text("status").notNullable().defaultTo("active");
    t.integer("failed_login_count").notNullable().defaultTo(0);
    t.timestamp("locked_until", { useTz: true }).nullable();
    t.timestamp("last_login_at", { useTz: true }).nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin','tenant_admin','operator','user'))`,
  );
  await knex.raw(
    `ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('active','inactive','locked'))`,
  );
  // Tenant-scoped roles must belong to a tenant; system accounts (admin, operator) may not.
  await knex.raw(
    `ALTER TABLE users ADD CONSTRAINT users_tenant_role_check CHECK (role IN ('admin','operator') OR tenant_id IS NOT NULL)`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX users_username_live ON users (COALESCE(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(username)) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX users_tenant_id ON users (tenant_id)`);
  await knex.raw(
    `ALTER TABLE tenants ADD CONSTRAINT tenants_admin_user_fk FOREIGN KEY (admin_user_id) REFERENCES users(id)`,
  );

  await knex.schema.createTable("auth_tokens", (t) => {
    t.uuid("id").primary();
    t.uuid("user_id").notNullable().references("id").inTable("users");
    // SHA-256 of the bearer token; the token itself is never stored.
    t.text("token_hash").notNullable().unique();
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("revoked_at", { useTz: true }).nullable();
  });
  await knex.raw(`CREATE INDEX auth_tokens_user_id ON auth_tokens (user_id)`);

  await knex.schema.createTable("audit_log", (t) => {
    t.uuid("id").primary();
    t.timestamp("at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("actor_user_id").nullable();
    t.text("actor_username").notNullable().defaultTo("");
    t.uuid("tenant_id").nullable();
    t.text("action").notNullable();
    t.text("target_type").notNullable();
    t.text("target_id").nullable();
    t.jsonb("before").nullable();
    t.jsonb("after").nullable();
    t.text("request_id").notNullable().defaultTo("");
  });
  await knex.raw(`CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC)`);
  await knex.raw(`CREATE INDEX audit_log_target ON audit_log (target_type, target_id)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
