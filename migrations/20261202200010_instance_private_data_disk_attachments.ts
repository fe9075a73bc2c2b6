import type { Knex } from "knex";

// Spec 000 §3.1 instance_private_data_disk_attachments: which private data disk is attached to which
// instance (many-to-many), how (rw/ro, mount path, guest device) and how far (attaching → attached,
// detaching, failed). The limits are the database's: a live-attachment counter on the disk with a
// CHECK against max_attachments (exclusive ⇒ 1), one live row per (instance, disk), one per guest
// device and mount path of an instance, and shared disks mount read-only only.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("private_data_disks", (t) => {
    // Live attachments (attaching, attached, detaching); guarded increments keep it ≤ max_attachments.
    t.integer("attachment_count").notNullable().defaultTo(0);
  });
  await knex.raw(
    `ALTER TABLE private_data_disks ADD CONSTRAINT private_data_disks_attachment_count_check CHECK (attachment_count >= 0 AND attachment_count <= max_attachments)`,
  );

  await knex.schema.createTable("instance_private_data_disk_attachments", (t) => {
    // The spec's attachment_id.
    t.uuid("id").primary();
    t.uuid("instance_id").notNullable().references("id").inTable("instances");
    t.uuid("disk_id").notNullable().references("id").inTable("private_data_disks");
    t.text("mount_path").notNullable();
    t.text("mount_mode").notNullable();
    // The disk's share mode when attached (a disk's mode does not change while attached).
    t.text("share_mode").notNullable();
    // Guest device (vdb…vdz; vda is the system disk).
    t.text("target_dev").notNullable();
    t.text("status").notNullable();
    // Why the last attach or detach failed ("" when it did not).
    t.text("error").notNullable().defaultTo("");
    // manual (AttachDisk), auto (at instance start, 000 §8.2.2), batch (instance set).
    t.text("origin").notNullable().defaultTo("manual");
    // The agent command in flight for this attachment (attach_disk / detach_disk), if any.
    t.uuid("command_id").nullable();
    t.timestamp("attached_at", { useTz: true }).nullable();
    t.uuid("attached_by").nullable();
    t.timestamp("detached_at", { useTz: true }).nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  const c = (name: string, check: string) =>
    knex.raw(`ALTER TABLE instance_private_data_disk_attachments ADD CONSTRAINT ${name} CHECK (${check})`);
  await c("ipdda_status_check", `status IN ('attaching','attached','detaching','failed')`);
  await c("ipdda_mode_check", `mount_mode IN ('rw','ro')`);
  await c("ipdda_share_check", `share_mode IN ('exclusive','shared')`);
  await c("ipdda_origin_check", `origin IN ('manual','auto','batch')`);
  // 000 §3.1 共享限制: a shared disk mounts read-only only.
  await c("ipdda_shared_read_only_check", `share_mode = 'exclusive' OR mount_mode = 'ro'`);
  await c("ipdda_target_check", `target_dev ~ '^vd[b-z]$'`);
  await c("ipdda_mount_path_check", `mount_path <> '' AND length(mount_path) <= 255`);
  const live = `deleted_at IS NULL AND status IN ('attaching','attached','detaching')`;
  // 000 §3.1 唯一性约束: one live attachment per (instance, disk).
  await knex.raw(
    `CREATE UNIQUE INDEX ipdda_instance_disk_live ON instance_private_data_disk_attachments (instance_id, disk_id) WHERE ${live}`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX ipdda_instance_target_live ON instance_private_data_disk_attachments (instance_id, target_dev) WHERE ${live}`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX ipdda_instance_mount_live ON instance_private_data_disk_attachments (instance_id, mount_path) WHERE ${live}`,
  );
  await knex.raw(
    `CREATE INDEX ipdda_disk ON instance_private_data_disk_attachments (disk_id, id) WHERE deleted_at IS NULL`,
  );
  // The attachment reconciler's work list: rows waiting for an agent.
  await knex.raw(
    `CREATE INDEX ipdda_in_flight ON instance_private_data_disk_attachments (updated_at, id) WHERE deleted_at IS NULL AND status IN ('attaching','detaching')`,
  );
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
