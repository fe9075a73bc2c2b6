import type { Knex } from "knex";

// Issue 10: what the scheduler places on. Pools belong to a data center and carry a scheduling
// policy (spec 004 §5.1); machines carry labels, a priority and a GPU allocation counter, and the
// database refuses any allocation above a machine's capacity; each GPU is a row (spec 004 §4.2) so
// a VM holds named devices, not a count.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("compute_pools", (t) => {
    t.uuid("edge_data_center_id").nullable().references("id").inTable("edge_data_centers");
    t.text("scheduling_policy").notNullable().defaultTo("load_balance");
  });
  await knex.raw(
    `ALTER TABLE compute_pools ADD CONSTRAINT compute_pools_scheduling_policy_check CHECK (scheduling_policy IN ('load_balance','priority','affinity','round_robin'))`,
  );
  await knex.raw(`CREATE INDEX compute_pools_edge_data_center ON compute_pools (edge_data_center_id, id)`);

  await knex.schema.alterTable("compute_machines", (t) => {
    t.jsonb("labels").notNullable().defaultTo(knex.raw(`'{}'::jsonb`));
    t.integer("priority").notNullable().defaultTo(0);
    t.integer("allocated_gpu_count").notNullable().defaultTo(0);
    // Set when the agent reported less hardware than is allocated: capacity is then held at the
    // allocation (the CHECK below) until the VMs leave and the next Hello lowers it.
    t.boolean("capacity_shortfall").notNullable().defaultTo(false);
  });
  await knex.raw(`ALTER TABLE compute_machines DROP CONSTRAINT compute_machines_allocation_check`);
  await knex.raw(
    `ALTER TABLE compute_machines ADD CONSTRAINT compute_machines_allocation_check CHECK (
       allocated_cpu_cores BETWEEN 0 AND cpu_cores AND allocated_memory_gb BETWEEN 0 AND memory_gb
       AND allocated_storage_gb BETWEEN 0 AND storage_gb AND allocated_gpu_count BETWEEN 0 AND gpu_count)`,
  );
  await knex.raw(
    `ALTER TABLE compute_machines ADD CONSTRAINT compute_machines_labels_check CHECK (jsonb_typeof(labels) = 'object')`,
  );
  await knex.raw(`CREATE INDEX compute_machines_edge_data_center ON compute_machines (edge_data_center_id, id)`);
  await knex.raw(`CREATE INDEX compute_machines_status_id ON compute_machines (status, id)`);

  await knex.schema.createTable("compute_machine_gpus", (t) => {
    t.uuid("id").primary();
    t.uuid("compute_machine_id").notNullable().references("id").inTable("compute_machines");
    t.integer("gpu_index").notNullable();
    t.text("gpu_uuid").notNullable().defaultTo("");
    t.text("model").notNullable().defaultTo("");
    t.integer("memory_mib").notNullable().defaultTo(0);
    t.text("pci_address").notNullable().defaultTo("");
    t.text("status").notNullable().defaultTo("available");
    t.uuid("allocated_vm_id").nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["compute_machine_id", "gpu_index"]);
  });
  await knex.raw(
    `ALTER TABLE compute_machine_gpus ADD CONSTRAINT compute_machine_gpus_status_check CHECK (status IN ('available','allocated','maintenance','error'))`,
  );
  await knex.raw(
    `ALTER TABLE compute_machine_gpus ADD CONSTRAINT compute_machine_gpus_allocation_check CHECK ((status = 'allocated') = (allocated_vm_id IS NOT NULL))`,
  );
  await knex.raw(
    `ALTER TABLE compute_machine_gpus ADD CONSTRAINT compute_machine_gpus_index_check CHECK (gpu_index >= 0)`,
  );
  await knex.raw(
    `CREATE INDEX compute_machine_gpus_vm ON compute_machine_gpus (allocated_vm_id) WHERE allocated_vm_id IS NOT NULL`,
  );
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
