import type { Knex } from "knex";

// Spec 000 §3.1 private data disks (one Ceph RBD image `disk-{id}` each), their snapshots, and
// clones (a disk whose parent_snapshot_id names the protected snapshot it was cloned from). The
// operation columns drive the disk reconciler: the API records what is wanted, the ceph_gateway's
// reports move the status (creating → available only on the gateway's report).
export async function up(knex: Knex): Promise<void> {
  const audit = (t: Knex.CreateTableBuilder) => {
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  };
  const operation = (t: Knex.CreateTableBuilder) => {
    // One id per API operation: the reconciler's command idempotency keys include it.
    t.uuid("operation_id").nullable();
    t.timestamp("operation_deadline", { useTz: true }).nullable();
    t.text("last_error").notNullable().defaultTo("");
  };

  await knex.schema.createTable("private_data_disks", (t) => {
    t.uuid("id").primary();
    t.uuid("user_id").notNullable().references("id").inTable("users");
    t.uuid("tenant_id").notNullable().references("id").inTable("tenants");
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    // What the owner asked for and is charged (quota); provisioned_size_gb is what the gateway
    // last reported the image to have (a resize is pending while they differ).
    t.integer("size_gb").notNullable();
    t.integer("provisioned_size_gb").notNullable().defaultTo(0);
    t.text("disk_type").notNullable();
    t.text("status").notNullable();
    t.text("share_mode").notNullable().defaultTo("exclusive");
    t.integer("max_attachments").notNullable().defaultTo(1);
    t.text("rbd_image_name").notNullable();
    t.text("rbd_pool").notNullable();
    t.uuid("storage_pool_id").notNullable().references("id").inTable("storage_pools");
    // Set on clones: the snapshot the image was cloned from (FK added below).
    t.uuid("parent_snapshot_id").nullable();
    operation(t);
    audit(t);
  });
  await knex.raw(
    `ALTER TABLE private_data_disks ADD CONSTRAINT private_data_disks_status_check CHECK (status IN ('available','attached','creating','deleting','error'))`,
  );
  await knex.raw(
    `ALTER TABLE private_data_disks ADD CONSTRAINT private_data_disks_type_check CHECK (disk_type IN ('standard','ssd','nvme'))`,
  );
  await knex.raw(
    `ALTER TABLE private_data_disks ADD CONSTRAINT private_data_disks_share_check CHECK (share_mode IN ('exclusive','shared'))`,
  );
  // 000 §3.1: exclusive = 1, shared = N (at least 1).
  await knex.raw(
    `ALTER TABLE private_data_disks ADD CONSTRAINT private_data_disks_attachments_check CHECK (max_attachments >= 1 AND (share_mode = 'shared' OR max_attachments = 1))`,
  );
  await knex.raw(
    `ALTER TABLE private_data_disks ADD CONSTRAINT private_data_disks_size_check CHECK (size_gb > 0 AND provisioned_size_gb >= 0 AND provisioned_size_gb <= size_gb)`,
  );
  await knex.raw(
    `ALTER TABLE private_data_disks ADD CONSTRAINT private_data_disks_image_name_check CHECK (rbd_image_name = 'disk-' || id::text)`,
  );
  await knex.raw(`ALTER TABLE private_data_disks ADD CONSTRAINT private_data_disks_name_check CHECK (name <> '')`);
  await knex.raw(`CREATE UNIQUE INDEX private_data_disks_image ON private_data_disks (rbd_pool, rbd_image_name)`);
  await knex.raw(
    `CREATE UNIQUE INDEX private_data_disks_user_name_live ON private_data_disks (user_id, lower(name)) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX private_data_disks_tenant ON private_data_disks (tenant_id, id) WHERE deleted_at IS NULL`,
  );
  await knex.raw(`CREATE INDEX private_data_disks_user ON private_data_disks (user_id, id) WHERE deleted_at IS NULL`);
  await knex.raw(
    `CREATE INDEX private_data_disks_pool ON private_data_disks (storage_pool_id) WHERE deleted_at IS NULL`,
  );
  // The reconciler's work list: disks with an operation in flight.
  await knex.raw(
    `CREATE INDEX private_data_disks_unconverged ON private_data_disks (updated_at, id) WHERE deleted_at IS NULL AND (status IN ('creating','deleting') OR provisioned_size_gb <> size_gb)`,
  );

  await knex.schema.createTable("private_data_disk_snapshots", (t) => {
    t.uuid("id").primary();
    t.uuid("disk_id").notNullable().references("id").inTable("private_data_disks");
    t.uuid("user_id").notNullable().references("id").inTable("users");
    t.uuid("tenant_id").notNullable().references("id").inTable("tenants");
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    // The disk's size when the snapshot was taken (a clone is at least this big).
    t.integer("size_gb").notNullable();
    // The RBD snapshot's name on the disk's image: `snap-{id}`.
    t.text("rbd_snapshot_name").notNullable();
    t.text("status").notNullable();
    // Snapshots are protected as soon as they are taken, so they can be cloned (RBD layering).
    t.boolean("protected").notNullable().defaultTo(false);
    operation(t);
    audit(t);
  });
  await knex.raw(
    `ALTER TABLE private_data_disk_snapshots ADD CONSTRAINT private_data_disk_snapshots_status_check CHECK (status IN ('creating','available','deleting','error'))`,
  );
  await knex.raw(
    `ALTER TABLE private_data_disk_snapshots ADD CONSTRAINT private_data_disk_snapshots_name_check CHECK (name <> '' AND size_gb > 0 AND rbd_snapshot_name = 'snap-' || id::text)`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX private_data_disk_snapshots_disk_name_live ON private_data_disk_snapshots (disk_id, lower(name)) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX private_data_disk_snapshots_tenant ON private_data_disk_snapshots (tenant_id, id) WHERE deleted_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX private_data_disk_snapshots_unconverged ON private_data_disk_snapshots (updated_at, id) WHERE deleted_at IS NULL AND status IN ('creating','deleting')`,
  );

  await knex.raw(
    `ALTER TABLE private_data_disks ADD CONSTRAINT private_data_disks_parent_fk FOREIGN KEY (parent_snapshot_id) REFERENCES private_data_disk_snapshots (id)`,
  );
  await knex.raw(
    `CREATE INDEX private_data_disks_parent ON private_data_disks (parent_snapshot_id) WHERE parent_snapshot_id IS NOT NULL AND deleted_at IS NULL`,
  );
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
