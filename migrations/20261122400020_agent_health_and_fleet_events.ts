import type { Knex } from "knex";

// The health evaluator's state per agent (its reasons, and which sample it was judged on) and the
// fleet event log. compute_machines.health_status stays the field people and the scheduler read;
// recordMetrics keeps it equal to agent_health.status in the same transaction. agent_health also
// covers agents without a machine row (Ceph gateways). No row means "unknown" (no report yet).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("agent_health", (t) => {
    t.uuid("agent_id").primary().references("id").inTable("agents");
    t.text("status").notNullable();
    t.jsonb("reasons").notNullable().defaultTo("[]");
    // The sample the status was judged on; an older, late sample never overrides it.
    t.timestamp("sampled_at", { useTz: true }).notNullable();
    t.timestamp("changed_at", { useTz: true }).notNullable();
    t.timestamp("updated_at", { useTz: true }).notNullable();
  });
  await knex.raw(
    `ALTER TABLE agent_health ADD CONSTRAINT agent_health_status_check CHECK (status IN ('healthy','warning','critical'))`,
  );

  // Things that happened to the fleet that people look back on: health changes now; connects,
  // disconnects and offline marks can share it. Append-only.
  await knex.schema.createTable("fleet_events", (t) => {
    t.uuid("id").primary();
    t.timestamp("occurred_at", { useTz: true }).notNullable();
    t.text("kind").notNullable();
    t.text("severity").notNullable();
    t.uuid("agent_id").nullable().references("id").inTable("agents");
    t.uuid("machine_id").nullable();
    t.text("message").notNullable();
    t.jsonb("details").notNullable().defaultTo("{}");
  });
  await knex.raw(
    `ALTER TABLE fleet_events ADD CONSTRAINT fleet_events_severity_check CHECK (severity IN ('info','warning','critical'))`,
  );
  await knex.raw(`CREATE INDEX fleet_events_occurred_at ON fleet_events (occurred_at)`);
  await knex.raw(`CREATE INDEX fleet_events_agent ON fleet_events (agent_id, occurred_at)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
