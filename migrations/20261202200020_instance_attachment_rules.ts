import type { Knex } from "knex";

// Spec 000 §2.3 / §9.1 实例资源挂载规则: what an instance may attach, per machine type and resource
// type: max_attachable and restrictions (min_instance_memory in GB, supported_disk_types). The
// defaults follow the spec's examples (CPU server 10 data disks, PC farm 5).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("instance_attachment_rules", (t) => {
    t.uuid("id").primary();
    t.text("machine_type").notNullable();
    t.text("resource_type").notNullable();
    t.integer("max_attachable").notNullable();
    t.jsonb("restrictions").notNullable().defaultTo(knex.raw(`'{}'::jsonb`));
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by").nullable();
    t.uuid("updated_by").nullable();
    t.timestamp("deleted_at", { useTz: true }).nullable();
  });
  const c = (name: string, check: string) =>
    knex.raw(`ALTER TABLE instance_attachment_rules ADD CONSTRAINT ${name} CHECK (${check})`);
  await c("instance_attachment_rules_machine_type_check", `machine_type IN ('cpu_server','pc_farm','gpu_server')`);
  await c("instance_attachment_rules_resource_type_check", `resource_type IN ('disk','network','gpu')`);
  // vdb…vdz: at most 25 data disks fit beside the system disk.
  await c("instance_attachment_rules_max_check", `max_attachable >= 0 AND max_attachable <= 25`);
  await c("instance_attachment_rules_restrictions_check", `jsonb_typeof(restrictions) = 'object'`);
  await knex.raw(
    `CREATE UNIQUE INDEX instance_attachment_rules_live ON instance_attachment_rules (machine_type, resource_type) WHERE deleted_at IS NULL`,
  );
  const all = { min_instance_memory: 0, supported_disk_types: ["standard", "ssd", "nvme"] };
  await knex("instance_attachment_rules").insert([
    {
      id: "0193d8a0-0000-7000-8000-000000000001",
      machine_type: "cpu_server",
      resource_type: "disk",
      max_attachable: 10,
      restrictions: JSON.stringify(all),
    },
    {
      id: "0193d8a0-0000-7000-8000-000000000002",
      machine_type: "pc_farm",
      resource_type: "disk",
      max_attachable: 5,
      restrictions: JSON.stringify(all),
    },
    {
      id: "0193d8a0-0000-7000-8000-000000000003",
      machine_type: "gpu_server",
      resource_type: "disk",
      max_attachable: 10,
      restrictions: JSON.stringify(all),
    },
  ]);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
