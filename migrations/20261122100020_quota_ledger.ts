import type { Knex } from "knex";

// The quota ledger: what each consuming object (an instance in a state, a private data disk)
// occupies, charged to its tenant, user and instance set. Group usage is derived from membership.
export async function up(knex: Knex): Promise<void> {
  // Users carry a quota like tenants and groups (same JSON keys: max_instances, max_cpu_cores, …).
  await knex.raw(`ALTER TABLE users ADD COLUMN quota_config jsonb NOT NULL DEFAULT '{}'`);

  // Instance sets come in a later issue; their quota lives here so the ledger can lock and check it now.
  await knex.schema.createTable("instance_set_quotas", (t) => {
    t.uuid("instance_set_id").primary();
    t.uuid("tenant_id").notNullable().references("id").inTable("tenants");
    t.jsonb("quota_config").notNullable().defaultTo("{}");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable("quota_consumers", (t) => {
    t.text("consumer_type").notNullable();
    t.uuid("consumer_id").notNullable();
    t.uuid("tenant_id").notNullable().references("id").inTable("tenants");
    t.uuid("user_id").nullable().references("id").inTable("users");
    t.uuid("instance_set_id").nullable();
    t.text("state").notNullable();
    // The object's full size; the occ_* columns are what its state occupies (quota/occupancy.ts).
    t.jsonb("resources").notNullable().defaultTo("{}");
    t.integer("occ_instances").notNullable().defaultTo(0);
    t.integer("occ_cpu_cores").notNullable().defaultTo(0);
    t.decimal("occ_memory_gb", 14, 3).notNullable().defaultTo(0);
    t.decimal("occ_storage_gb", 14, 3).notNullable().defaultTo(0);
    t.decimal("occ_private_data_disk_gb", 14, 3).notNullable().defaultTo(0);
    t.integer("occ_ip_addresses").notNullable().defaultTo(0);
    t.decimal("occ_bandwidth_gbps", 14, 3).notNullable().defaultTo(0);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["consumer_type", "consumer_id"]);
  });
  await knex.raw(
    `ALTER TABLE quota_consumers ADD CONSTRAINT quota_consumers_type_check CHECK (consumer_type IN ('instance','private_data_disk'))`,
  );
  await knex.raw(
    `ALTER TABLE quota_consumers ADD CONSTRAINT quota_consumers_non_negative CHECK (occ_instances >= 0 AND occ_cpu_cores >= 0 AND occ_memory_gb >= 0 AND occ_storage_gb >= 0 AND occ_private_data_disk_gb >= 0 AND occ_ip_addresses >= 0 AND occ_bandwidth_gbps >= 0)`,
  );
  await knex.raw(`CREATE INDEX quota_consumers_tenant ON quota_consumers (tenant_id)`);
  await knex.raw(`CREATE INDEX quota_consumers_user ON quota_consumers (user_id)`);
  await knex.raw(`CREATE INDEX quota_consumers_instance_set ON quota_consumers (instance_set_id)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
