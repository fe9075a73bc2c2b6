import type { Knex } from "knex";

// The people of an instance set (000 §2.2, §2.5.4) with their role in it: a teacher (or master)
// manages the set and sees all its instances; a student (or worker) sees only its own. One live
// membership per (set, user); removing one keeps the row (removed_at) for the record.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("instance_set_members", (t) => {
    t.uuid("id").primary();
    t.uuid("instance_set_id").notNullable().references("id").inTable("instance_sets");
    t.uuid("user_id").notNullable().references("id").inTable("users");
    t.text("role").notNullable();
    t.timestamp("joined_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("added_by").nullable();
    t.timestamp("removed_at", { useTz: true }).nullable();
    t.uuid("removed_by").nullable();
  });
  await knex.raw(
    `ALTER TABLE instance_set_members ADD CONSTRAINT instance_set_members_role_check CHECK (role IN ('teacher','student','master','worker'))`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX instance_set_members_live ON instance_set_members (instance_set_id, user_id) WHERE removed_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX instance_set_members_user ON instance_set_members (user_id) WHERE removed_at IS NULL`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
