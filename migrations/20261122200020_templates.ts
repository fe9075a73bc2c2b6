import type { Knex } from "knex";

// Spec 000 §6.2: instance and instance-set templates (with the 002 flavor fields price_per_hour,
// listed and gpu_model) and their versions, each holding the full config snapshot (§6.2.3).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("templates", (t) => {
    t.uuid("id").primary();
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.text("use_case").notNullable().defaultTo("general");
    t.text("template_type").notNullable().defaultTo("instance");
    t.uuid("base_image_id").nullable().references("id").inTable("images");
    t.integer("default_cpu_cores").notNullable();
    t.integer("default_memory_gb").notNullable();
    t.integer("default_storage_gb").notNullable();
    t.integer("default_gpu_count").notNullable().defaultTo(0);
    t.text("gpu_model").notNullable().defaultTo("");
    t.double("default_bandwidth_gbps").nullable();
    t.jsonb("network_config").notNullable().defaultTo("{}");
    t.text("user_data").notNullable().defaultTo("");
    t.jsonb("tags").notNullable().defaultTo("{}");
    t.text("visibility").notNullable().defaultTo("private");
    t.uuid("owner_id").notNullable().references("id").inTable("users");
    t.uuid("tenant_id").nullable().references("id").inTable("tenants");
    // version_number of the latest template_versions row.
    t.text("version").notNullable().defaultTo("v1.0.0");
    t.text("status").notNullable().defaultTo("active");
    t.double("price_per_hour").notNullable().defaultTo(0);
    t.boolean("listed").notNullable().defaultTo(true);
    // Instance-set templates only (000 §6.2.2).
    t.integer("instance_count").nullable();
    t.text("instance_name_pattern").nullable();
    t.jsonb("member_template_ids").notNullable().defaultTo("[]");
    t.jsonb("load_balancer_config").notNullable().defaultTo("{}");
    t.jsonb("shared_storage_config").notNullable().defaultTo("{}");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  await knex.raw(`ALTER TABLE templates ADD CONSTRAINT templates_use_case_check CHECK (use_case IN
    ('ai_application','graphics_rendering','gaming_high_performance','lightweight_office','web_server','database','development','general'))`);
  await knex.raw(
    `ALTER TABLE templates ADD CONSTRAINT templates_type_check CHECK (template_type IN ('instance','instance_set'))`,
  );
  await knex.raw(
    `ALTER TABLE templates ADD CONSTRAINT templates_visibility_check CHECK (visibility IN ('public','private','group_specific'))`,
  );
  await knex.raw(
    `ALTER TABLE templates ADD CONSTRAINT templates_status_check CHECK (status IN ('active','deprecated','archived'))`,
  );
  await knex.raw(`ALTER TABLE templates ADD CONSTRAINT templates_resources_check CHECK (
    default_cpu_cores > 0 AND default_memory_gb > 0 AND default_storage_gb > 0 AND default_gpu_count >= 0 AND price_per_hour >= 0)`);
  await knex.raw(`ALTER TABLE templates ADD CONSTRAINT templates_set_fields_check CHECK (
    (template_type = 'instance_set') = (instance_count IS NOT NULL AND instance_name_pattern IS NOT NULL))`);
  await knex.raw(
    `CREATE UNIQUE INDEX templates_name_live ON templates (COALESCE(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name)) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX templates_owner ON templates (owner_id)`);
  await knex.raw(`CREATE INDEX templates_tenant ON templates (tenant_id)`);
  await knex.raw(`CREATE INDEX templates_status ON templates (status)`);

  await knex.schema.createTable("template_versions", (t) => {
    t.uuid("id").primary();
    t.uuid("template_id").notNullable().references("id").inTable("templates");
    t.text("version_number").notNullable();
    t.boolean("is_latest").notNullable().defaultTo(false);
    t.jsonb("config_snapshot").notNullable();
    t.text("changelog").notNullable().defaultTo("");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable().references("id").inTable("users");
  });
  await knex.raw(`CREATE UNIQUE INDEX template_versions_number ON template_versions (template_id, version_number)`);
  await knex.raw(`CREATE UNIQUE INDEX template_versions_one_latest ON template_versions (template_id) WHERE is_latest`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
