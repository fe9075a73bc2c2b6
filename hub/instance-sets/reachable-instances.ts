import type { Knex } from "knex";
import type { MemberRole, SetType } from "./instance-set.js";
import { MANAGING_ROLES } from "./set-roles.js";

/** An instance a user may connect to, and the set (if any) it is reached through (000 §2.5.2 B). */
export interface ReachableInstance {
  instanceId: string;
  name: string;
  /** Observed status (000 §2.1) and what the API wants, as stored. */
  status: string;
  desiredState: string;
  ownerId: string;
  tenantId: string;
  /** True when the user owns the instance. */
  owned: boolean;
  /** The active set the instance is in, with the user's role there (null: none, or the user is no member). */
  instanceSet: {
    id: string;
    name: string;
    setType: SetType;
    /** The user's role in the set; null when the user owns the instance but is not a member. */
    memberRole: MemberRole | null;
    /** The instance's own role in the set (teacher instance, student instance…). */
    instanceRole: MemberRole;
  } | null;
}

interface Row {
  id: string;
  name: string;
  status: string;
  desired_state: string;
  user_id: string;
  tenant_id: string;
  set_id: string | null;
  set_name: string | null;
  set_type: SetType | null;
  member_role: MemberRole | null;
  instance_role: MemberRole | null;
}

/**
 * The instances `userId` can reach: its own live instances, plus every live instance of the active
 * sets where it holds a managing role (teacher, master). A student reaches only its own instance of
 * a set, never a classmate's (000 §2.5.4). Archived and deleted sets give no reach; one row per
 * instance (an instance is in at most one set), in id order.
 */
export async function listReachableInstances(knex: Knex, userId: string): Promise<ReachableInstance[]> {
  const rows = (await knex("instances as i")
    .leftJoin("instance_set_instances as l", function () {
      this.on("l.instance_id", "i.id").andOnNull("l.removed_at");
    })
    .leftJoin("instance_sets as s", function () {
      this.on("s.id", "l.instance_set_id").andOnVal("s.status", "active");
    })
    .leftJoin("instance_set_members as m", function () {
      this.on("m.instance_set_id", "s.id").andOnVal("m.user_id", userId).andOnNull("m.removed_at");
    })
    .whereNull("i.deleted_at")
    .andWhere((w) => w.where("i.user_id", userId).orWhereIn("m.role", MANAGING_ROLES as MemberRole[]))
    .orderBy("i.id")
    .select(
      "i.id",
      "i.name",
      "i.status",
      "i.desired_state",
      "i.user_id",
      "i.tenant_id",
      "s.id as set_id",
      "s.name as set_name",
      "s.set_type",
      "m.role as member_role",
      "l.role as instance_role",
    )) as Row[];
  return rows.map((r) => ({
    instanceId: r.id,
    name: r.name,
    status: r.status,
    desiredState: r.desired_state,
    ownerId: r.user_id,
    tenantId: r.tenant_id,
    owned: r.user_id === userId,
    instanceSet:
      r.set_id === null
        ? null
        : {
            id: r.set_id,
            name: r.set_name!,
            setType: r.set_type!,
            memberRole: r.member_role,
            instanceRole: r.instance_role!,
          },
  }));
}
