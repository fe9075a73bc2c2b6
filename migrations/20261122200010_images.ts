import type { Knex } from "knex";

// Spec 000 §6.4: images, their semver versions, tags (system / version / custom), resource
// requirements (§6.4.5), and the per-instance usage rows a later instance issue writes (§6.4.4).
export async function up(knex: Knex): Promise<void> {
  const stamps = (t: Knex.CreateTableBuilder) => {
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  };
  await knex.schema.createTable("images", (t) => {
    t.uuid("id").primary();
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.text("image_type").notNullable();
    t.text("base_os").notNullable().defaultTo("");
    t.text("os_version").notNullable().defaultTo("");
    t.text("architecture").notNullable().defaultTo("x86_64");
    t.double("size_gb").notNullable().defaultTo(0);
    t.text("visibility").notNullable().defaultTo("private");
    t.text("status").notNullable().defaultTo("active");
    t.text("file_server_id").notNullable().defaultTo("");
    t.text("file_path").notNullable().defaultTo("");
    t.text("checksum_md5").notNullable().defaultTo("");
    t.uuid("owner_id").notNullable().references("id").inTable("users");
    // null: a platform image; otherwise only that tenant's users ever see it.
    t.uuid("tenant_id").nullable().references("id").inTable("tenants");
    stamps(t);
  });
  await knex.raw(
    `ALTER TABLE images ADD CONSTRAINT images_type_check CHECK (image_type IN ('os_base','application_layer','custom'))`,
  );
  await knex.raw(
    `ALTER TABLE images ADD CONSTRAINT images_visibility_check CHECK (visibility IN ('public','private','group_specific'))`,
  );
  await knex.raw(
    `ALTER TABLE images ADD CONSTRAINT images_status_check CHECK (status IN ('active','deprecated','archived'))`,
  );
  await knex.raw(
    `ALTER TABLE images ADD CONSTRAINT images_architecture_check CHECK (architecture IN ('x86_64','arm64'))`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX images_name_live ON images (COALESCE(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name)) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX images_tenant ON images (tenant_id)`);

  await knex.schema.createTable("image_versions", (t) => {
    t.uuid("id").primary();
    t.uuid("image_id").notNullable().references("id").inTable("images");
    t.text("version_number").notNullable();
    // Parsed parts of version_number, so "newest" is an ORDER BY, not a string compare.
    t.integer("major").notNullable();
    t.integer("minor").notNullable();
    t.integer("patch").notNullable();
    t.text("version_name").notNullable().defaultTo("");
    t.uuid("parent_version_id").nullable().references("id").inTable("image_versions");
    t.double("size_gb").notNullable().defaultTo(0);
    t.text("file_path").notNullable().defaultTo("");
    t.text("checksum_md5").notNullable().defaultTo("");
    t.text("release_notes").notNullable().defaultTo("");
    t.text("status").notNullable().defaultTo("active");
    t.boolean("is_latest").notNullable().defaultTo(false);
    t.boolean("is_default").notNullable().defaultTo(false);
    t.timestamp("deprecated_at", { useTz: true }).nullable();
    t.timestamp("archived_at", { useTz: true }).nullable();
    stamps(t);
  });
  await knex.raw(
    `ALTER TABLE image_versions ADD CONSTRAINT image_versions_status_check CHECK (status IN ('active','deprecated','archived'))`,
  );
  await knex.raw(
    `ALTER TABLE image_versions ADD CONSTRAINT image_versions_number_check CHECK (version_number ~ '^v(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$')`,
  );
  await knex.raw(
    `ALTER TABLE image_versions ADD CONSTRAINT image_versions_deprecated_at_check CHECK (status = 'active' OR deprecated_at IS NOT NULL)`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX image_versions_number_live ON image_versions (image_id, version_number) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX image_versions_one_latest ON image_versions (image_id) WHERE is_latest AND deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX image_versions_one_default ON image_versions (image_id) WHERE is_default AND deleted_at IS NULL`,
  );

  await knex.schema.createTable("image_tags", (t) => {
    t.uuid("id").primary();
    t.uuid("image_id").notNullable().references("id").inTable("images");
    t.uuid("version_id").notNullable().references("id").inTable("image_versions");
    t.text("tag_name").notNullable();
    t.text("tag_kind").notNullable();
    t.boolean("is_immutable").notNullable();
    stamps(t);
  });
  await knex.raw(
    `ALTER TABLE image_tags ADD CONSTRAINT image_tags_kind_check CHECK (tag_kind IN ('system','version','custom'))`,
  );
  await knex.raw(
    `ALTER TABLE image_tags ADD CONSTRAINT image_tags_immutable_check CHECK (is_immutable = (tag_kind = 'version'))`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX image_tags_name_live ON image_tags (image_id, tag_name) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX image_tags_version ON image_tags (version_id)`);

  await knex.schema.createTable("image_requirements", (t) => {
    t.uuid("image_id").primary().references("id").inTable("images");
    t.integer("min_cpu_cores").notNullable().defaultTo(0);
    t.integer("min_memory_gb").notNullable().defaultTo(0);
    t.integer("min_storage_gb").notNullable().defaultTo(0);
    t.integer("recommended_cpu_cores").notNullable().defaultTo(0);
    t.integer("recommended_memory_gb").notNullable().defaultTo(0);
    t.integer("recommended_storage_gb").notNullable().defaultTo(0);
    // e.g. ["kvm","hyperv","vmware"]; empty means any hypervisor.
    t.jsonb("hypervisor_compatibility").notNullable().defaultTo("[]");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
  });
  await knex.raw(`ALTER TABLE image_requirements ADD CONSTRAINT image_requirements_recommended_check CHECK (
    min_cpu_cores >= 0 AND min_memory_gb >= 0 AND min_storage_gb >= 0
    AND recommended_cpu_cores >= min_cpu_cores AND recommended_memory_gb >= min_memory_gb AND recommended_storage_gb >= min_storage_gb)`);

  // One row per live instance that runs an image version (000 §6.4.4 "version lock"). The instance
  // issue inserts it when it creates an instance and deletes it when the instance is deleted, in the
  // same transaction (see hub/catalog/image-version-usage.ts); there is no instances table yet.
  await knex.schema.createTable("image_version_usage", (t) => {
    t.uuid("instance_id").primary();
    t.uuid("image_version_id").notNullable().references("id").inTable("image_versions");
    t.uuid("image_id").notNullable().references("id").inTable("images");
    t.text("image_tag_used").notNullable().defaultTo("");
    t.timestamp("recorded_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`CREATE INDEX image_version_usage_version ON image_version_usage (image_version_id)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
