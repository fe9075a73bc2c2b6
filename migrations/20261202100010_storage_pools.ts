import type { Knex } from "knex";

// Spec 000 §1.2.2 / §6.1.2: the Ceph pools private data disks live in. A ceph_gateway agent reports
// its cluster's pools (list_rbd_pools); the hub keeps one row per (gateway, pool) with the usage it
// last heard, the cluster access compute hosts need to attach an image (RbdClusterAccess), and the
// configurable disk_type → pool name mapping (default `private-data-disks`, §3.1 rbd_pool).
export async function up(knex: Knex): Promise<void> {
  // One row per ceph_gateway agent: how clients reach its cluster (attach commands carry it).
  await knex.schema.createTable("ceph_gateways", (t) => {
    t.uuid("agent_id").primary().references("id").inTable("agents");
    t.uuid("edge_data_center_id").nullable().references("id").inTable("edge_data_centers");
    t.specificType("mon_hosts", "text[]").notNullable().defaultTo(knex.raw(`'{}'::text[]`));
    t.text("auth_user").notNullable().defaultTo("");
    // Names a libvirt secret on compute hosts when cephx is on ("" = auth none).
    t.text("secret_uuid").notNullable().defaultTo("");
    t.timestamp("refreshed_at", { useTz: true }).nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable("storage_pools", (t) => {
    t.uuid("id").primary();
    // The gateway that reported the pool and that runs the RBD commands for its images.
    t.uuid("agent_id").notNullable().references("id").inTable("agents");
    t.uuid("edge_data_center_id").nullable().references("id").inTable("edge_data_centers");
    // The Ceph pool name (rbd_pool of the disks in it).
    t.text("name").notNullable();
    t.bigInteger("capacity_bytes").notNullable().defaultTo(0);
    t.bigInteger("used_bytes").notNullable().defaultTo(0);
    t.bigInteger("available_bytes").notNullable().defaultTo(0);
    t.bigInteger("object_count").notNullable().defaultTo(0);
    // active: in the gateway's last listing; absent: missing from it; unreachable: gateway offline.
    t.text("status").notNullable().defaultTo("active");
    t.timestamp("refreshed_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(
    `ALTER TABLE storage_pools ADD CONSTRAINT storage_pools_status_check CHECK (status IN ('active','absent','unreachable'))`,
  );
  await knex.raw(
    `ALTER TABLE storage_pools ADD CONSTRAINT storage_pools_bytes_check CHECK (capacity_bytes >= 0 AND used_bytes >= 0 AND available_bytes >= 0 AND object_count >= 0)`,
  );
  await knex.raw(`CREATE UNIQUE INDEX storage_pools_agent_name ON storage_pools (agent_id, name)`);
  await knex.raw(`CREATE INDEX storage_pools_name ON storage_pools (name, status)`);

  // 000 §6.1.2 "可根据 disk_type 配置不同的 Ceph 存储池": one row per disk type, edited by admins.
  await knex.schema.createTable("disk_type_pools", (t) => {
    t.text("disk_type").primary();
    t.text("pool_name").notNullable();
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("updated_by").nullable();
  });
  await knex.raw(
    `ALTER TABLE disk_type_pools ADD CONSTRAINT disk_type_pools_type_check CHECK (disk_type IN ('standard','ssd','nvme'))`,
  );
  await knex.raw(`ALTER TABLE disk_type_pools ADD CONSTRAINT disk_type_pools_name_check CHECK (pool_name <> '')`);
  await knex("disk_type_pools").insert([
    { disk_type: "standard", pool_name: "private-data-disks" },
    { disk_type: "ssd", pool_name: "private-data-disks-ssd" },
    { disk_type: "nvme", pool_name: "private-data-disks-nvme" },
  ]);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
