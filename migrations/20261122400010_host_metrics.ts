import type { Knex } from "knex";

// Host and GPU metrics (spec 004 §4.1 host_metrics / gpu_metrics as a guide): raw samples kept
// 7 days, hourly rollups kept 90 days. Keys are (agent, time) rather than surrogate ids: the rows are
// a time series written ~once per 30 s per agent, read by agent and time range, and purged by time.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("host_metrics_raw", (t) => {
    t.uuid("agent_id").notNullable().references("id").inTable("agents");
    t.timestamp("sampled_at", { useTz: true }).notNullable();
    t.uuid("machine_id").nullable();
    t.timestamp("received_at", { useTz: true }).notNullable();
    t.double("cpu_percent").notNullable();
    t.double("load1").notNullable();
    t.double("load5").notNullable();
    t.double("load15").notNullable();
    t.bigInteger("memory_total_bytes").notNullable();
    t.bigInteger("memory_available_bytes").notNullable();
    t.bigInteger("disk_total_bytes").notNullable();
    t.bigInteger("disk_used_bytes").notNullable();
    // Free share of the fullest file system: the one the health rule looks at.
    t.double("disk_min_free_percent").nullable();
    // Per-mount detail: [{ mount, usedBytes, totalBytes }].
    t.jsonb("disks").notNullable().defaultTo("[]");
    t.double("net_rx_bytes_per_second").notNullable();
    t.double("net_tx_bytes_per_second").notNullable();
    t.integer("gpu_count").notNullable().defaultTo(0);
    t.integer("gpu_error_count").notNullable().defaultTo(0);
    t.primary(["agent_id", "sampled_at"]);
  });
  await knex.raw(`CREATE INDEX host_metrics_raw_sampled_at ON host_metrics_raw (sampled_at)`);

  await knex.schema.createTable("gpu_metrics_raw", (t) => {
    t.uuid("agent_id").notNullable().references("id").inTable("agents");
    t.timestamp("sampled_at", { useTz: true }).notNullable();
    t.integer("gpu_index").notNullable();
    t.text("gpu_uuid").notNullable().defaultTo("");
    t.double("utilization_percent").nullable();
    t.bigInteger("memory_used_mib").nullable();
    t.bigInteger("memory_total_mib").nullable();
    t.double("temperature_celsius").nullable();
    t.double("power_draw_watts").nullable();
    t.boolean("error").notNullable().defaultTo(false);
    t.primary(["agent_id", "sampled_at", "gpu_index"]);
  });
  await knex.raw(`CREATE INDEX gpu_metrics_raw_sampled_at ON gpu_metrics_raw (sampled_at)`);

  await knex.schema.createTable("host_metrics_hourly", (t) => {
    t.uuid("agent_id").notNullable().references("id").inTable("agents");
    t.timestamp("hour_start", { useTz: true }).notNullable();
    t.uuid("machine_id").nullable();
    t.integer("samples").notNullable();
    t.double("cpu_percent_avg").notNullable();
    t.double("cpu_percent_max").notNullable();
    t.double("load1_avg").notNullable();
    t.double("load1_max").notNullable();
    t.bigInteger("memory_total_bytes").notNullable();
    t.bigInteger("memory_available_bytes_avg").notNullable();
    t.bigInteger("memory_available_bytes_min").notNullable();
    t.double("disk_min_free_percent").nullable();
    t.double("net_rx_bytes_per_second_avg").notNullable();
    t.double("net_rx_bytes_per_second_max").notNullable();
    t.double("net_tx_bytes_per_second_avg").notNullable();
    t.double("net_tx_bytes_per_second_max").notNullable();
    t.timestamp("rolled_up_at", { useTz: true }).notNullable();
    t.primary(["agent_id", "hour_start"]);
  });
  await knex.raw(`CREATE INDEX host_metrics_hourly_hour_start ON host_metrics_hourly (hour_start)`);

  await knex.schema.createTable("gpu_metrics_hourly", (t) => {
    t.uuid("agent_id").notNullable().references("id").inTable("agents");
    t.timestamp("hour_start", { useTz: true }).notNullable();
    t.integer("gpu_index").notNullable();
    t.text("gpu_uuid").notNullable().defaultTo("");
    t.integer("samples").notNullable();
    t.integer("error_samples").notNullable();
    t.double("utilization_percent_avg").nullable();
    t.double("utilization_percent_max").nullable();
    t.bigInteger("memory_used_mib_avg").nullable();
    t.bigInteger("memory_used_mib_max").nullable();
    t.double("temperature_celsius_avg").nullable();
    t.double("temperature_celsius_max").nullable();
    t.double("power_draw_watts_avg").nullable();
    t.double("power_draw_watts_max").nullable();
    t.timestamp("rolled_up_at", { useTz: true }).notNullable();
    t.primary(["agent_id", "hour_start", "gpu_index"]);
  });
  await knex.raw(`CREATE INDEX gpu_metrics_hourly_hour_start ON gpu_metrics_hourly (hour_start)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
