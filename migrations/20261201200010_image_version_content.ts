import type { Knex } from "knex";

// Issue 10: the bytes of an image version (a qcow2 or raw disk) live in the hub's content-addressed
// image store; the version row records which content it has. All four columns are set together by
// an upload and never change afterwards (hub/image-content/README.md).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("image_versions", (t) => {
    t.text("content_sha256").nullable();
    t.bigInteger("content_size_bytes").nullable();
    t.text("content_format").nullable();
    t.timestamp("content_uploaded_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE image_versions ADD CONSTRAINT image_versions_content_sha256_check CHECK (content_sha256 ~ '^[0-9a-f]{64}$')`,
  );
  await knex.raw(
    `ALTER TABLE image_versions ADD CONSTRAINT image_versions_content_size_check CHECK (content_size_bytes >= 0)`,
  );
  await knex.raw(
    `ALTER TABLE image_versions ADD CONSTRAINT image_versions_content_format_check CHECK (content_format IN ('qcow2','raw'))`,
  );
  await knex.raw(`ALTER TABLE image_versions ADD CONSTRAINT image_versions_content_complete_check CHECK (
    (content_sha256 IS NULL) = (content_size_bytes IS NULL)
    AND (content_sha256 IS NULL) = (content_format IS NULL)
    AND (content_sha256 IS NULL) = (content_uploaded_at IS NULL))`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
