import type { Knex } from "knex";
import type { Principal } from "../api/principal.js";
import { assertOwnerVisible } from "../api/tenant-scope.js";
import { PermissionDeniedError } from "../domain/errors.js";
import type { Instance } from "./instance.js";
import { getInstance } from "./instance-store.js";

/** An instance as `p` may see it: a user its own, a tenant_admin its tenant's; others answer not_found. */
export async function getVisibleInstance(
  knex: Knex,
  p: Principal,
  id: string,
  options: { lock?: boolean } = {},
): Promise<Instance> {
  const i = await getInstance(knex, id, options);
  if (
    p.role === "user" &&
    i.userId !== p.userId &&
    i.tenantId === p.tenantId &&
    (await managesSetOf(knex, p.userId, id))
  )
    return i;
  assertOwnerVisible(p, { tenantId: i.tenantId, userId: i.userId }, "instance", id);
  return i;
}

/**
 * 000 §2.5.4: a teacher (or master) of the instance's set sees and manages it like its owner; a
 * student of the set does not reach a classmate's. The roles are hub/instance-sets/set-roles.ts's
 * MANAGING_ROLES (written out here: that feature builds on this one, not the other way round).
 */
async function managesSetOf(knex: Knex, userId: string, instanceId: string): Promise<boolean> {
  const row = await knex("instance_set_instances as l")
    .join("instance_sets as s", "s.id", "l.instance_set_id")
    .join("instance_set_members as m", "m.instance_set_id", "l.instance_set_id")
    .where("l.instance_id", instanceId)
    .whereNull("l.removed_at")
    .whereNull("s.deleted_at")
    .where("m.user_id", userId)
    .whereNull("m.removed_at")
    .whereIn("m.role", ["teacher", "master"])
    .first("l.id");
  return row !== undefined;
}

/**
 * 000 §2.5.4: a student starts, stops and restarts its instance of a set (and opens its console),
 * but deleting, resizing or renaming it is for the set's teachers (or masters) and admins. Checked
 * by those verbs on the instance they read.
 */
export async function assertNotStudentInstance(knex: Knex, p: Principal, i: Instance, action: string): Promise<void> {
  if (p.role !== "user") return;
  const row = (await knex("instance_set_instances as l")
    .join("instance_sets as s", "s.id", "l.instance_set_id")
    .leftJoin("instance_set_members as m", function () {
      this.on("m.instance_set_id", "l.instance_set_id").andOnVal("m.user_id", p.userId).andOnNull("m.removed_at");
    })
    .where("l.instance_id", i.id)
    .whereNull("l.removed_at")
    .whereNull("s.deleted_at")
    .whereIn("l.role", ["student", "worker"])
    .first("l.instance_set_id", "m.role")) as { instance_set_id: string; role: string | null } | undefined;
  if (row && row.role !== "teacher" && row.role !== "master")
    throw new PermissionDeniedError(
      `Cannot ${action} instance ${i.id}: it is a student instance of instance set ${row.instance_set_id}; its teachers manage it`,
    );
}
