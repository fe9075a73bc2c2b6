import type { Knex } from "knex";

// Spec 000 §1.1 edge data centers, §6.1.1 compute pools and §1.3 compute machines: the rows a
// compute agent's first Hello registers into. Admin APIs for them come with a later issue.
export async function up(knex: Knex): Promise<void> {
  const audit = (t: Knex.CreateTableBuilder) => {
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  };
  await knex.schema.createTable("edge_data_centers", (t) => {
    t.uuid("id").primary();
    t.text("name").notNullable();
    t.text("location").notNullable().defaultTo("");
    t.integer("total_cpu_cores").notNullable().defaultTo(0);
    t.double("total_memory_gb").notNullable().defaultTo(0);
    t.double("total_storage_gb").notNullable().defaultTo(0);
    t.text("status").notNullable().defaultTo("active");
    audit(t);
  });
  await knex.raw(
    `ALTER TABLE edge_data_centers ADD CONSTRAINT edge_data_centers_status_check CHECK (status IN ('active','maintenance','offline'))`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX edge_data_centers_name_live ON edge_data_centers (lower(name)) WHERE deleted_at IS NULL`,
  );

  await knex.schema.createTable("compute_pools", (t) => {
    t.uuid("id").primary();
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.integer("total_cpu_cores").notNullable().defaultTo(0);
    t.double("total_memory_gb").notNullable().defaultTo(0);
    t.double("total_storage_gb").notNullable().defaultTo(0);
    t.integer("total_gpu_count").notNullable().defaultTo(0);
    t.integer("allocated_cpu_cores").notNullable().defaultTo(0);
    t.double("allocated_memory_gb").notNullable().defaultTo(0);
    t.double("allocated_storage_gb").notNullable().defaultTo(0);
    t.integer("allocated_gpu_count").notNullable().defaultTo(0);
    t.text("status").notNullable().defaultTo("active");
    audit(t);
  });
  await knex.raw(
    `ALTER TABLE compute_pools ADD CONSTRAINT compute_pools_status_check CHECK (status IN ('active','maintenance','disabled'))`,
  );
  await knex.raw(`CREATE UNIQUE INDEX compute_pools_name_live ON compute_pools (lower(name)) WHERE deleted_at IS NULL`);

  await knex.schema.createTable("compute_machines", (t) => {
    t.uuid("id").primary();
    t.text("hostname").notNullable();
    t.text("machine_type").notNullable();
    t.integer("cpu_cores").notNullable().defaultTo(0);
    t.double("memory_gb").notNullable().defaultTo(0);
    t.double("storage_gb").notNullable().defaultTo(0);
    t.integer("gpu_count").notNullable().defaultTo(0);
    t.integer("allocated_cpu_cores").notNullable().defaultTo(0);
    t.double("allocated_memory_gb").notNullable().defaultTo(0);
    t.double("allocated_storage_gb").notNullable().defaultTo(0);
    t.text("status").notNullable().defaultTo("active");
    t.text("health_status").notNullable().defaultTo("unknown");
    t.text("hypervisor_type").notNullable().defaultTo("KVM");
    t.text("rental_mode").notNullable().defaultTo("shared");
    t.uuid("resource_pool_id").notNullable().references("id").inTable("compute_pools");
    t.uuid("edge_data_center_id").notNullable().references("id").inTable("edge_data_centers");
    // The enrolled agent that reports for this machine; one machine per agent.
    t.uuid("agent_id").nullable();
    audit(t);
  });
  await knex.raw(
    `ALTER TABLE compute_machines ADD CONSTRAINT compute_machines_type_check CHECK (machine_type IN ('cpu_server','pc_farm','gpu_server'))`,
  );
  await knex.raw(
    `ALTER TABLE compute_machines ADD CONSTRAINT compute_machines_status_check CHECK (status IN ('active','maintenance','offline','decommissioning'))`,
  );
  await knex.raw(
    `ALTER TABLE compute_machines ADD CONSTRAINT compute_machines_health_check CHECK (health_status IN ('unknown','healthy','warning','critical'))`,
  );
  await knex.raw(
    `ALTER TABLE compute_machines ADD CONSTRAINT compute_machines_rental_check CHECK (rental_mode IN ('exclusive','shared'))`,
  );
  await knex.raw(
    `ALTER TABLE compute_machines ADD CONSTRAINT compute_machines_allocation_check CHECK (allocated_cpu_cores >= 0 AND allocated_memory_gb >= 0 AND allocated_storage_gb >= 0)`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX compute_machines_agent_live ON compute_machines (agent_id) WHERE deleted_at IS NULL AND agent_id IS NOT NULL`,
  );
  await knex.raw(`CREATE INDEX compute_machines_pool ON compute_machines (resource_pool_id)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
