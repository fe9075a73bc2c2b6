import type { Knex } from "knex";

// The agent protocol's durable state: join tokens (hashed), enrolled agents, which hub holds
// which agent's stream, and the durable command queue (DESIGN.md "Agent protocol").
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("join_tokens", (t) => {
    t.uuid("id").primary();
    // SHA-256 of the secret part; the secret itself is shown once and never stored.
    t.text("secret_hash").notNullable().unique();
    t.text("role").notNullable();
    t.uuid("edge_data_center_id").nullable().references("id").inTable("edge_data_centers");
    t.uuid("compute_pool_id").nullable().references("id").inTable("compute_pools");
    t.text("machine_type").nullable();
    t.text("description").notNullable().defaultTo("");
    t.integer("max_uses").notNullable();
    t.integer("use_count").notNullable().defaultTo(0);
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("revoked_at", { useTz: true }).nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
  });
  await knex.raw(
    `ALTER TABLE join_tokens ADD CONSTRAINT join_tokens_role_check CHECK (role IN ('compute','ceph_gateway','cloud_box'))`,
  );
  await knex.raw(
    `ALTER TABLE join_tokens ADD CONSTRAINT join_tokens_uses_check CHECK (max_uses > 0 AND use_count >= 0 AND use_count <= max_uses)`,
  );
  await knex.raw(
    `ALTER TABLE join_tokens ADD CONSTRAINT join_tokens_compute_pool_check CHECK (role <> 'compute' OR compute_pool_id IS NOT NULL)`,
  );

  await knex.schema.createTable("agents", (t) => {
    t.uuid("id").primary();
    t.text("role").notNullable();
    t.text("hostname").notNullable();
    t.uuid("join_token_id").nullable().references("id").inTable("join_tokens");
    t.uuid("edge_data_center_id").nullable().references("id").inTable("edge_data_centers");
    t.uuid("compute_pool_id").nullable().references("id").inTable("compute_pools");
    t.text("machine_type").nullable();
    t.text("certificate_serial").notNullable();
    t.timestamp("certificate_expires_at", { useTz: true }).notNullable();
    t.text("status").notNullable().defaultTo("enrolled");
    t.text("agent_version").notNullable().defaultTo("");
    t.jsonb("inventory").nullable();
    t.timestamp("last_heartbeat_at", { useTz: true }).nullable();
    t.timestamp("connected_at", { useTz: true }).nullable();
    t.timestamp("disconnected_at", { useTz: true }).nullable();
    t.timestamp("revoked_at", { useTz: true }).nullable();
    t.text("revoked_reason").nullable();
    t.timestamp("enrolled_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(
    `ALTER TABLE agents ADD CONSTRAINT agents_role_check CHECK (role IN ('compute','ceph_gateway','cloud_box'))`,
  );
  await knex.raw(
    `ALTER TABLE agents ADD CONSTRAINT agents_status_check CHECK (status IN ('enrolled','connected','disconnected','offline','revoked'))`,
  );
  await knex.raw(`CREATE INDEX agents_status_heartbeat ON agents (status, last_heartbeat_at)`);

  // One row per held stream; a reconnect to another hub overwrites it.
  await knex.schema.createTable("agent_sessions", (t) => {
    t.uuid("agent_id").primary().references("id").inTable("agents");
    t.uuid("session_id").notNullable();
    t.text("hub_id").notNullable();
    t.timestamp("connected_at", { useTz: true }).notNullable();
  });
  await knex.raw(`CREATE INDEX agent_sessions_hub ON agent_sessions (hub_id)`);

  await knex.schema.createTable("agent_commands", (t) => {
    t.uuid("id").primary();
    t.uuid("agent_id").notNullable().references("id").inTable("agents");
    t.text("kind").notNullable();
    t.jsonb("payload").notNullable().defaultTo("{}");
    t.text("state").notNullable().defaultTo("queued");
    t.text("idempotency_key").nullable();
    t.timestamp("deadline", { useTz: true }).notNullable();
    t.integer("delivery_count").notNullable().defaultTo(0);
    t.jsonb("result").nullable();
    t.text("error").nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("delivered_at", { useTz: true }).nullable();
    t.timestamp("started_at", { useTz: true }).nullable();
    t.timestamp("finished_at", { useTz: true }).nullable();
    t.uuid("created_by").nullable();
  });
  await knex.raw(
    `ALTER TABLE agent_commands ADD CONSTRAINT agent_commands_state_check CHECK (state IN ('queued','delivered','running','succeeded','failed','cancelled','expired'))`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX agent_commands_idempotency ON agent_commands (agent_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
  );
  // The pending set of an agent, and the expiry sweep, stay index-only as finished rows pile up.
  await knex.raw(
    `CREATE INDEX agent_commands_pending ON agent_commands (agent_id, created_at) WHERE state IN ('queued','delivered','running')`,
  );
  await knex.raw(
    `CREATE INDEX agent_commands_deadline ON agent_commands (deadline) WHERE state IN ('queued','delivered','running')`,
  );
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
