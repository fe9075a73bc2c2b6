import type { Knex } from "knex";

// The hub's firmware signing key (Ed25519), kept like the hub CA: one row every hub shares, created
// at first start under the bootstrap lock. Boxes pin its public key and check every image against it.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("hub_firmware_key", (t) => {
    t.integer("id").primary();
    t.text("public_key_pem").notNullable();
    t.text("private_key_pem").notNullable();
    t.text("fingerprint_sha256").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE hub_firmware_key ADD CONSTRAINT hub_firmware_key_single_row CHECK (id = 1)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
