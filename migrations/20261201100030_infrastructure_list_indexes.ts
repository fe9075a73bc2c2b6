import type { Knex } from "knex";

// Issue 10: InfrastructureService lists page through an index in their own order (id, or machine
// and GPU index) for each filter, as the lists of issue 16 do; labels are matched by containment.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX edge_data_centers_status_id ON edge_data_centers (status, id) WHERE deleted_at IS NULL`);
  await knex.raw(
    `CREATE INDEX edge_data_centers_name_trgm_live ON edge_data_centers USING gin (lower(name) gin_trgm_ops) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX compute_pools_status_id ON compute_pools (status, id) WHERE deleted_at IS NULL`);
  await knex.raw(
    `CREATE INDEX compute_pools_policy_id ON compute_pools (scheduling_policy, id) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX compute_pools_name_trgm_live ON compute_pools USING gin (lower(name) gin_trgm_ops) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX compute_machines_pool_id ON compute_machines (resource_pool_id, id) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX compute_machines_type_id ON compute_machines (machine_type, id) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX compute_machines_rental_id ON compute_machines (rental_mode, id) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX compute_machines_labels ON compute_machines USING gin (labels jsonb_path_ops) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX compute_machines_hostname_trgm_live ON compute_machines USING gin (lower(hostname) gin_trgm_ops) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX compute_machine_gpus_status ON compute_machine_gpus (status, compute_machine_id, gpu_index)`,
  );
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
