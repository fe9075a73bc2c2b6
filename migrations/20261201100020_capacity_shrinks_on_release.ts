import type { Knex } from "knex";

// Issue 10: a Hello reporting less hardware than is allocated holds capacity at the allocation
// (capacity_shortfall). What the agent reported is kept, and as VMs leave, capacity shrinks back
// towards it in the same statement that releases them, with the pool and data center totals, so
// the scheduler never places on hardware that is gone. Spec 000 §1.3 keeps these counters with
// database triggers; only machines flagged with a shortfall run this one.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("compute_machines", (t) => {
    // NULL until the first Hello after this migration: no shrinking below the stored capacity.
    t.integer("reported_cpu_cores").nullable();
    t.double("reported_memory_gb").nullable();
    t.double("reported_storage_gb").nullable();
    t.integer("reported_gpu_count").nullable();
  });
  await knex.raw(`
    CREATE FUNCTION compute_machines_shrink_to_reported() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      d_cpu int;
      d_mem double precision;
      d_sto double precision;
      d_gpu int;
    BEGIN
      -- Never above what the row had (a charge must fit the old capacity), never below what is allocated.
      NEW.cpu_cores := LEAST(NEW.cpu_cores, GREATEST(coalesce(NEW.reported_cpu_cores, NEW.cpu_cores), NEW.allocated_cpu_cores));
      NEW.memory_gb := LEAST(NEW.memory_gb, GREATEST(coalesce(NEW.reported_memory_gb, NEW.memory_gb), NEW.allocated_memory_gb));
      NEW.storage_gb := LEAST(NEW.storage_gb, GREATEST(coalesce(NEW.reported_storage_gb, NEW.storage_gb), NEW.allocated_storage_gb));
      NEW.gpu_count := LEAST(NEW.gpu_count, GREATEST(coalesce(NEW.reported_gpu_count, NEW.gpu_count), NEW.allocated_gpu_count));
      NEW.capacity_shortfall := NEW.cpu_cores > coalesce(NEW.reported_cpu_cores, NEW.cpu_cores)
        OR NEW.memory_gb > coalesce(NEW.reported_memory_gb, NEW.memory_gb)
        OR NEW.storage_gb > coalesce(NEW.reported_storage_gb, NEW.storage_gb)
        OR NEW.gpu_count > coalesce(NEW.reported_gpu_count, NEW.gpu_count);
      d_cpu := OLD.cpu_cores - NEW.cpu_cores;
      d_mem := OLD.memory_gb - NEW.memory_gb;
      d_sto := OLD.storage_gb - NEW.storage_gb;
      d_gpu := OLD.gpu_count - NEW.gpu_count;
      -- Totals count live machines that are not being decommissioned (hub/infrastructure/capacity-totals.ts).
      IF NEW.deleted_at IS NULL AND NEW.status <> 'decommissioning'
         AND (d_cpu <> 0 OR d_mem <> 0 OR d_sto <> 0 OR d_gpu <> 0) THEN
        UPDATE compute_pools SET total_cpu_cores = total_cpu_cores - d_cpu, total_memory_gb = total_memory_gb - d_mem,
          total_storage_gb = total_storage_gb - d_sto, total_gpu_count = total_gpu_count - d_gpu
        WHERE id = NEW.resource_pool_id;
        UPDATE edge_data_centers SET total_cpu_cores = total_cpu_cores - d_cpu, total_memory_gb = total_memory_gb - d_mem,
          total_storage_gb = total_storage_gb - d_sto
        WHERE id = NEW.edge_data_center_id;
      END IF;
      RETURN NEW;
    END
    $$`);
  await knex.raw(`
    CREATE TRIGGER compute_machines_shrink_to_reported
    BEFORE UPDATE OF allocated_cpu_cores, allocated_memory_gb, allocated_storage_gb, allocated_gpu_count
    ON compute_machines FOR EACH ROW WHEN (OLD.capacity_shortfall)
    EXECUTE FUNCTION compute_machines_shrink_to_reported()`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
