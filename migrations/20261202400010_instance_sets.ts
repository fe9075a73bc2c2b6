import type { Knex } from "knex";

// Spec 000 §2.2 instance sets: a tenant's named group of instances (a class, a project, a
// department…), owned by a user (usually the teacher), optionally tied to a user group. Status
// active → archived (hidden from ordinary lists, refuses new instances) → deleted (soft delete;
// its instances stay, only the links go).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("instance_sets", (t) => {
    t.uuid("id").primary();
    t.uuid("tenant_id").notNullable().references("id").inTable("tenants");
    t.uuid("owner_id").notNullable().references("id").inTable("users");
    t.uuid("user_group_id").nullable().references("id").inTable("user_groups");
    // The instance-set template it was made from (000 §6.2.2), if any.
    t.uuid("template_id").nullable().references("id").inTable("templates");
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.text("set_type").notNullable();
    t.text("status").notNullable().defaultTo("active");
    t.jsonb("tags").notNullable().defaultTo(knex.raw(`'{}'::jsonb`));
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE instance_sets ADD CONSTRAINT instance_sets_set_type_check CHECK (set_type IN ('project','department','application','training','custom'))`,
  );
  await knex.raw(
    `ALTER TABLE instance_sets ADD CONSTRAINT instance_sets_status_check CHECK (status IN ('active','archived','deleted'))`,
  );
  // A deleted set is exactly a soft-deleted row, so neither can drift from the other.
  await knex.raw(
    `ALTER TABLE instance_sets ADD CONSTRAINT instance_sets_deleted_check CHECK ((status = 'deleted') = (deleted_at IS NOT NULL))`,
  );
  await knex.raw(
    `ALTER TABLE instance_sets ADD CONSTRAINT instance_sets_tags_check CHECK (jsonb_typeof(tags) = 'object')`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX instance_sets_name_live ON instance_sets (tenant_id, lower(name)) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX instance_sets_tenant ON instance_sets (tenant_id, id) WHERE deleted_at IS NULL`);
  await knex.raw(`CREATE INDEX instance_sets_owner ON instance_sets (owner_id) WHERE deleted_at IS NULL`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
