import type { Knex } from "knex";

// Which instances belong to which set (000 §2.2's membership_id / joined_at / added_by / role),
// as a link table so `instances` stays untouched. An instance belongs to at most one set at a
// time (a partial unique index); unlinking (or deleting the set) keeps the row with removed_at.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("instance_set_instances", (t) => {
    t.uuid("id").primary();
    t.uuid("instance_set_id").notNullable().references("id").inTable("instance_sets");
    t.uuid("instance_id").notNullable().references("id").inTable("instances");
    t.text("role").notNullable();
    t.timestamp("joined_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("added_by").nullable();
    t.timestamp("removed_at", { useTz: true }).nullable();
    t.uuid("removed_by").nullable();
  });
  await knex.raw(
    `ALTER TABLE instance_set_instances ADD CONSTRAINT instance_set_instances_role_check CHECK (role IN ('teacher','student','master','worker'))`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX instance_set_instances_one_set ON instance_set_instances (instance_id) WHERE removed_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX instance_set_instances_set ON instance_set_instances (instance_set_id, instance_id) WHERE removed_at IS NULL`,
  );
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
