import type { Knex } from "knex";

// Issue 10: compute agents report every domain's counters with their host sample; they are stored
// beside the host's (same key, same 7-day retention), one row per domain per sample.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("domain_metrics_raw", (t) => {
    t.uuid("agent_id").notNullable();
    t.timestamp("sampled_at", { useTz: true }).notNullable();
    t.text("domain_uuid").notNullable();
    t.text("domain_name").notNullable();
    t.text("state").notNullable();
    t.bigInteger("cpu_time_ns").notNullable();
    t.integer("vcpus").notNullable();
    t.bigInteger("memory_max_kib").notNullable();
    t.bigInteger("memory_used_kib").notNullable();
    t.bigInteger("disk_read_bytes").notNullable();
    t.bigInteger("disk_write_bytes").notNullable();
    t.bigInteger("net_rx_bytes").notNullable();
    t.bigInteger("net_tx_bytes").notNullable();
    t.primary(["agent_id", "sampled_at", "domain_uuid"]);
  });
  // An instance's history reads by domain (the VM id is the domain's UUID) over time.
  await knex.raw(`CREATE INDEX domain_metrics_raw_domain ON domain_metrics_raw (domain_uuid, sampled_at)`);
  await knex.raw(`CREATE INDEX domain_metrics_raw_sampled_at ON domain_metrics_raw (sampled_at)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
