import type { Knex } from "knex";

// Spec 000 §1.6 temporary binding (temporary_instance_id, temporary_bind_expires_at) kept as rows:
// a binding is live until ended (unbound, expired, replaced, box decommissioned); history stays.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("cloud_box_bindings", (t) => {
    t.uuid("id").primary();
    t.uuid("cloud_box_id").notNullable().references("id").inTable("cloud_boxes");
    t.uuid("instance_id").notNullable().references("id").inTable("instances");
    // The instance's owner when bound (the student of §2.5).
    t.uuid("user_id").notNullable().references("id").inTable("users");
    t.timestamp("expires_at", { useTz: true }).nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.timestamp("ended_at", { useTz: true }).nullable();
    t.uuid("ended_by").nullable();
    t.text("end_reason").nullable();
  });
  await knex.raw(
    `ALTER TABLE cloud_box_bindings ADD CONSTRAINT cloud_box_bindings_end_check CHECK ((ended_at IS NULL) = (end_reason IS NULL) AND (end_reason IS NULL OR end_reason IN ('unbound','expired','replaced','decommissioned')))`,
  );
  await knex.raw(
    `ALTER TABLE cloud_box_bindings ADD CONSTRAINT cloud_box_bindings_expiry_check CHECK (expires_at IS NULL OR expires_at > created_at)`,
  );
  // One live binding per box.
  await knex.raw(
    `CREATE UNIQUE INDEX cloud_box_bindings_live ON cloud_box_bindings (cloud_box_id) WHERE ended_at IS NULL`,
  );
  // The expiry loop's work list.
  await knex.raw(
    `CREATE INDEX cloud_box_bindings_expiring ON cloud_box_bindings (expires_at) WHERE ended_at IS NULL AND expires_at IS NOT NULL`,
  );
  await knex.raw(`CREATE INDEX cloud_box_bindings_instance ON cloud_box_bindings (instance_id) WHERE ended_at IS NULL`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
