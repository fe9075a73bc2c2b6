import type { Knex } from "knex";

// Cloud box firmware (spec 000 §1.6 firmware_version, issue 14): an uploaded file, addressed by its
// sha256 in the hub's firmware store, signed by the hub's firmware key at upload. A version string
// names one file for good: re-uploading it with other bytes is refused.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("firmware_versions", (t) => {
    t.uuid("id").primary();
    t.text("version").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.text("sha256").notNullable();
    t.bigInteger("size_bytes").notNullable();
    // Base64 Ed25519 signature of the raw sha256 digest by hub_firmware_key.
    t.text("signature").notNullable();
    // Box models the firmware applies to; empty = every model.
    t.jsonb("models").notNullable().defaultTo(knex.raw(`'[]'::jsonb`));
    t.text("status").notNullable().defaultTo("available");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE firmware_versions ADD CONSTRAINT firmware_versions_status_check CHECK (status IN ('available','deleted') AND (status = 'deleted') = (deleted_at IS NOT NULL))`,
  );
  await knex.raw(
    `ALTER TABLE firmware_versions ADD CONSTRAINT firmware_versions_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$')`,
  );
  await knex.raw(`ALTER TABLE firmware_versions ADD CONSTRAINT firmware_versions_size_check CHECK (size_bytes > 0)`);
  await knex.raw(
    `ALTER TABLE firmware_versions ADD CONSTRAINT firmware_versions_models_check CHECK (jsonb_typeof(models) = 'array')`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX firmware_versions_version_live ON firmware_versions (version) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX firmware_versions_sha256 ON firmware_versions (sha256)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
