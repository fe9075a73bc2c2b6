import type { Knex } from "knex";

// Rollouts of a firmware version to cloud boxes (issue 14): a target (box ids, a tag, or a
// percentage of the fleet picked stably by a hash of the box id) and one row per box with the
// outcome the box reported. A box takes one firmware install at a time: the partial unique index
// on unfinished rows makes a second concurrent rollout to it fail in the database.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("firmware_rollouts", (t) => {
    t.uuid("id").primary();
    t.uuid("firmware_version_id").notNullable().references("id").inTable("firmware_versions");
    t.text("target_kind").notNullable();
    t.jsonb("target_box_ids").notNullable().defaultTo(knex.raw(`'[]'::jsonb`));
    t.text("target_tag").nullable();
    t.integer("target_percentage").nullable();
    t.integer("health_deadline_ms").notNullable();
    t.text("status").notNullable().defaultTo("in_progress");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("finished_at", { useTz: true }).nullable();
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
  });
  await knex.raw(
    `ALTER TABLE firmware_rollouts ADD CONSTRAINT firmware_rollouts_status_check CHECK (status IN ('in_progress','completed','cancelled') AND (status = 'in_progress') = (finished_at IS NULL))`,
  );
  await knex.raw(
    `ALTER TABLE firmware_rollouts ADD CONSTRAINT firmware_rollouts_target_check CHECK (
      (target_kind = 'box_ids' AND jsonb_typeof(target_box_ids) = 'array' AND jsonb_array_length(target_box_ids) > 0 AND target_tag IS NULL AND target_percentage IS NULL)
      OR (target_kind = 'tag' AND target_tag IS NOT NULL AND target_tag <> '' AND target_percentage IS NULL)
      OR (target_kind = 'percentage' AND target_percentage BETWEEN 1 AND 100 AND target_tag IS NULL))`,
  );
  await knex.raw(
    `ALTER TABLE firmware_rollouts ADD CONSTRAINT firmware_rollouts_deadline_check CHECK (health_deadline_ms BETWEEN 1000 AND 3600000)`,
  );
  await knex.raw(`CREATE INDEX firmware_rollouts_version ON firmware_rollouts (firmware_version_id, status)`);
  await knex.raw(`CREATE INDEX firmware_rollouts_created ON firmware_rollouts (created_at, id)`);

  await knex.schema.createTable("firmware_rollout_boxes", (t) => {
    t.uuid("id").primary();
    t.uuid("rollout_id").notNullable().references("id").inTable("firmware_rollouts");
    t.uuid("box_id").notNullable().references("id").inTable("cloud_boxes");
    t.uuid("agent_id").notNullable().references("id").inTable("agents");
    // The install_firmware command (agent_commands rows are purged after a while: no FK).
    t.uuid("command_id").nullable();
    t.text("status").notNullable().defaultTo("pending");
    t.text("detail").notNullable().defaultTo("");
    t.text("active_slot").notNullable().defaultTo("");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("started_at", { useTz: true }).nullable();
    t.timestamp("finished_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE firmware_rollout_boxes ADD CONSTRAINT firmware_rollout_boxes_status_check CHECK (status IN ('pending','downloading','installed','rolled_back','refused','failed','cancelled') AND (status IN ('pending','downloading')) = (finished_at IS NULL))`,
  );
  await knex.raw(
    `ALTER TABLE firmware_rollout_boxes ADD CONSTRAINT firmware_rollout_boxes_slot_check CHECK (active_slot IN ('','a','b'))`,
  );
  await knex.raw(`CREATE UNIQUE INDEX firmware_rollout_boxes_once ON firmware_rollout_boxes (rollout_id, box_id)`);
  await knex.raw(
    `CREATE UNIQUE INDEX firmware_rollout_boxes_one_unfinished ON firmware_rollout_boxes (box_id) WHERE status IN ('pending','downloading')`,
  );
  // The rollout loop's work list and a box's firmware history.
  await knex.raw(
    `CREATE INDEX firmware_rollout_boxes_unfinished ON firmware_rollout_boxes (command_id) WHERE status IN ('pending','downloading')`,
  );
  await knex.raw(`CREATE INDEX firmware_rollout_boxes_box ON firmware_rollout_boxes (box_id, finished_at)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
