import type { Knex } from "knex";

// Issue 10, the scheduler's own state: what each VM was charged (so release returns exactly that),
// the history of every placement attempt (spec 004 §5.1 scheduler_history), the machine's last
// placement time for round_robin, and the pool's GPU allocation strategy (spec 004 §4.2).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("compute_machines", (t) => {
    t.timestamp("last_placed_at", { useTz: true }).nullable();
  });
  await knex.schema.alterTable("compute_pools", (t) => {
    t.text("gpu_allocation_strategy").notNullable().defaultTo("first_fit");
  });
  await knex.raw(
    `ALTER TABLE compute_pools ADD CONSTRAINT compute_pools_gpu_allocation_strategy_check CHECK (gpu_allocation_strategy IN ('first_fit','least_loaded'))`,
  );

  await knex.schema.createTable("machine_allocations", (t) => {
    t.uuid("vm_id").primary();
    t.uuid("instance_id").notNullable();
    t.uuid("compute_machine_id").notNullable().references("id").inTable("compute_machines");
    t.uuid("compute_pool_id").notNullable().references("id").inTable("compute_pools");
    t.integer("cpu_cores").notNullable();
    t.double("memory_gb").notNullable();
    t.double("storage_gb").notNullable();
    t.jsonb("gpu_ids").notNullable().defaultTo(knex.raw(`'[]'::jsonb`));
    t.boolean("exclusive").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(
    `ALTER TABLE machine_allocations ADD CONSTRAINT machine_allocations_amounts_check CHECK (cpu_cores >= 0 AND memory_gb >= 0 AND storage_gb >= 0 AND jsonb_typeof(gpu_ids) = 'array')`,
  );
  await knex.raw(`CREATE INDEX machine_allocations_machine ON machine_allocations (compute_machine_id)`);
  await knex.raw(`CREATE INDEX machine_allocations_instance ON machine_allocations (instance_id)`);

  await knex.schema.createTable("scheduling_history", (t) => {
    t.uuid("id").primary();
    // No foreign keys: history outlives the instances, VMs and machines it names.
    t.uuid("instance_id").notNullable();
    t.uuid("vm_id").notNullable();
    t.uuid("tenant_id").notNullable();
    t.jsonb("request").notNullable();
    t.text("policy").notNullable();
    t.integer("candidates_considered").notNullable();
    t.jsonb("rejected").notNullable().defaultTo(knex.raw(`'{}'::jsonb`));
    t.uuid("chosen_machine_id").nullable();
    t.jsonb("chosen_gpu_ids").notNullable().defaultTo(knex.raw(`'[]'::jsonb`));
    t.text("outcome").notNullable();
    t.text("failure_reason").nullable();
    t.integer("duration_ms").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(
    `ALTER TABLE scheduling_history ADD CONSTRAINT scheduling_history_outcome_check CHECK (outcome IN ('placed','failed'))`,
  );
  await knex.raw(
    `ALTER TABLE scheduling_history ADD CONSTRAINT scheduling_history_policy_check CHECK (policy IN ('load_balance','priority','affinity','round_robin'))`,
  );
  await knex.raw(
    `ALTER TABLE scheduling_history ADD CONSTRAINT scheduling_history_result_check CHECK ((outcome = 'placed') = (chosen_machine_id IS NOT NULL) AND (outcome = 'failed') = (failure_reason IS NOT NULL))`,
  );
  // ListSchedulingRecords: newest first on (created_at, id), alone or by each filter.
  await knex.raw(`CREATE INDEX scheduling_history_created ON scheduling_history (created_at DESC, id DESC)`);
  await knex.raw(
    `CREATE INDEX scheduling_history_instance_created ON scheduling_history (instance_id, created_at DESC, id DESC)`,
  );
  await knex.raw(
    `CREATE INDEX scheduling_history_outcome_created ON scheduling_history (outcome, created_at DESC, id DESC)`,
  );
  await knex.raw(
    `CREATE INDEX scheduling_history_machine_created ON scheduling_history (chosen_machine_id, created_at DESC, id DESC)`,
  );
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
