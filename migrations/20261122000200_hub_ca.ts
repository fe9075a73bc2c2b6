import type { Knex } from "knex";

// The agent endpoint's CA lives in the database so that every hub on it signs and trusts the same one.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("hub_ca", (t) => {
    t.integer("id").primary();
    t.text("cert_pem").notNullable();
    t.text("key_pem").notNullable();
    t.text("fingerprint_sha256").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE hub_ca ADD CONSTRAINT hub_ca_single_row CHECK (id = 1)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
