import type { Knex } from "knex";

// Spec 000 §1.6 cloud boxes: one row per enrolled box (its agent is the fleet identity), the
// spec's fields, the network config and last device metrics the box reports.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("cloud_boxes", (t) => {
    t.uuid("id").primary();
    t.uuid("agent_id").notNullable().references("id").inTable("agents");
    t.text("name").notNullable();
    t.text("serial_number").notNullable();
    t.text("mac_address").notNullable();
    t.text("model").notNullable().defaultTo("");
    t.text("manufacturer").notNullable().defaultTo("");
    t.text("location").notNullable().defaultTo("");
    t.jsonb("tags").notNullable().defaultTo(knex.raw(`'{}'::jsonb`));
    t.uuid("assigned_user_id").nullable().references("id").inTable("users");
    t.uuid("edge_data_center_id").nullable().references("id").inTable("edge_data_centers");
    t.text("status").notNullable();
    t.text("firmware_version").notNullable().defaultTo("");
    t.text("ip_address").notNullable().defaultTo("");
    t.text("network_mode").nullable();
    t.text("gateway").notNullable().defaultTo("");
    t.jsonb("dns_servers").notNullable().defaultTo(knex.raw(`'[]'::jsonb`));
    t.text("subnet_mask").notNullable().defaultTo("");
    t.jsonb("last_metrics").nullable();
    t.timestamp("last_metrics_at", { useTz: true }).nullable();
    t.timestamp("last_boot_at", { useTz: true }).nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE cloud_boxes ADD CONSTRAINT cloud_boxes_status_check CHECK (status IN ('initializing','online','offline','maintenance','error','disabled','decommissioned'))`,
  );
  await knex.raw(
    `ALTER TABLE cloud_boxes ADD CONSTRAINT cloud_boxes_network_mode_check CHECK (network_mode IS NULL OR network_mode IN ('dhcp','static'))`,
  );
  await knex.raw(`ALTER TABLE cloud_boxes ADD CONSTRAINT cloud_boxes_tags_check CHECK (jsonb_typeof(tags) = 'object')`);
  await knex.raw(
    `ALTER TABLE cloud_boxes ADD CONSTRAINT cloud_boxes_dns_check CHECK (jsonb_typeof(dns_servers) = 'array')`,
  );
  // The serial number is the device's identity (000 §1.6); a decommissioned box frees it for re-enrollment.
  await knex.raw(
    `CREATE UNIQUE INDEX cloud_boxes_serial_live ON cloud_boxes (serial_number) WHERE deleted_at IS NULL AND status <> 'decommissioned'`,
  );
  await knex.raw(`CREATE UNIQUE INDEX cloud_boxes_agent ON cloud_boxes (agent_id)`);
  await knex.raw(`CREATE INDEX cloud_boxes_site ON cloud_boxes (edge_data_center_id, id) WHERE deleted_at IS NULL`);
  await knex.raw(
    `CREATE INDEX cloud_boxes_assigned_user ON cloud_boxes (assigned_user_id, id) WHERE deleted_at IS NULL`,
  );
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
