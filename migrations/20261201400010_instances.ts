import type { Knex } from "knex";

// Spec 000 §2.1 instances (desired state set by the API, status observed from agents), §1.5
// virtual machines (id = the libvirt domain UUID) and the per-instance event log the reconciler
// writes (transitions, placements, errors).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("instances", (t) => {
    t.uuid("id").primary();
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.uuid("user_id").notNullable().references("id").inTable("users");
    t.uuid("tenant_id").notNullable().references("id").inTable("tenants");
    t.uuid("template_id").nullable().references("id").inTable("templates");
    t.uuid("template_version_id").nullable();
    t.uuid("image_id").notNullable().references("id").inTable("images");
    // Locked at create (000 §6.4.4): `latest` is resolved once and never followed afterwards.
    t.uuid("image_version_id").notNullable().references("id").inTable("image_versions");
    t.text("image_tag_used").notNullable().defaultTo("");
    t.integer("cpu_cores").notNullable();
    t.double("memory_gb").notNullable();
    t.double("storage_gb").notNullable();
    t.integer("gpu_count").notNullable().defaultTo(0);
    t.text("gpu_model").nullable();
    t.text("status").notNullable();
    t.text("desired_state").notNullable();
    t.text("rental_mode").nullable();
    t.uuid("resource_pool_id").nullable().references("id").inTable("compute_pools");
    t.uuid("compute_machine_id").nullable().references("id").inTable("compute_machines");
    t.uuid("virtual_machine_id").nullable();
    // The pool the last StartInstance asked for (null = any active pool).
    t.uuid("requested_pool_id").nullable();
    // One id per API operation: the reconciler's command idempotency keys include it.
    t.uuid("operation_id").nullable();
    t.text("pending_action").nullable();
    t.timestamp("operation_deadline", { useTz: true }).nullable();
    t.text("last_error").notNullable().defaultTo("");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE instances ADD CONSTRAINT instances_status_check CHECK (status IN ('creating','initializing','running','suspended','stopping','stopped','terminating','deleted'))`,
  );
  await knex.raw(
    `ALTER TABLE instances ADD CONSTRAINT instances_desired_state_check CHECK (desired_state IN ('running','suspended','stopped','deleted'))`,
  );
  await knex.raw(
    `ALTER TABLE instances ADD CONSTRAINT instances_rental_mode_check CHECK (rental_mode IS NULL OR rental_mode IN ('exclusive','shared'))`,
  );
  await knex.raw(
    `ALTER TABLE instances ADD CONSTRAINT instances_pending_action_check CHECK (pending_action IS NULL OR pending_action IN ('restart'))`,
  );
  await knex.raw(
    `ALTER TABLE instances ADD CONSTRAINT instances_spec_check CHECK (cpu_cores > 0 AND memory_gb > 0 AND storage_gb > 0 AND gpu_count >= 0)`,
  );
  await knex.raw(`CREATE INDEX instances_tenant ON instances (tenant_id, id) WHERE deleted_at IS NULL`);
  await knex.raw(`CREATE INDEX instances_user ON instances (user_id, id) WHERE deleted_at IS NULL`);
  await knex.raw(`CREATE INDEX instances_image_version ON instances (image_version_id)`);
  // The reconciler's work list: instances whose status differs from what is desired.
  await knex.raw(
    `CREATE INDEX instances_unconverged ON instances (updated_at, id) WHERE status <> desired_state OR pending_action IS NOT NULL`,
  );

  await knex.schema.createTable("virtual_machines", (t) => {
    // Also the libvirt domain UUID; the domain is named edgehub-<id>.
    t.uuid("id").primary();
    t.uuid("compute_machine_id").notNullable().references("id").inTable("compute_machines");
    t.uuid("instance_id").notNullable().references("id").inTable("instances");
    t.text("vm_name").notNullable();
    t.integer("cpu_cores").notNullable();
    t.double("memory_gb").notNullable();
    t.double("storage_gb").notNullable();
    t.integer("gpu_count").notNullable().defaultTo(0);
    t.text("status").notNullable();
    t.jsonb("config").notNullable().defaultTo(knex.raw(`'{}'::jsonb`));
    t.text("graphics_protocol").notNullable().defaultTo("");
    t.text("graphics_host").notNullable().defaultTo("");
    t.integer("graphics_port").notNullable().defaultTo(0);
    t.text("last_domain_state").notNullable().defaultTo("");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE virtual_machines ADD CONSTRAINT virtual_machines_status_check CHECK (status IN ('creating','starting','running','stopping','stopped','restarting','error','deleted'))`,
  );
  await knex.raw(
    `ALTER TABLE virtual_machines ADD CONSTRAINT virtual_machines_config_check CHECK (jsonb_typeof(config) = 'object')`,
  );
  // One live VM per instance (000 §1.5: one-to-one while it runs).
  await knex.raw(
    `CREATE UNIQUE INDEX virtual_machines_instance_live ON virtual_machines (instance_id) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX virtual_machines_machine ON virtual_machines (compute_machine_id) WHERE deleted_at IS NULL`,
  );

  await knex.schema.createTable("instance_events", (t) => {
    t.uuid("id").primary();
    t.uuid("instance_id").notNullable().references("id").inTable("instances");
    t.text("kind").notNullable();
    t.text("message").notNullable();
    t.jsonb("attributes").notNullable().defaultTo(knex.raw(`'{}'::jsonb`));
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`CREATE INDEX instance_events_instance_time ON instance_events (instance_id, created_at, id)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
