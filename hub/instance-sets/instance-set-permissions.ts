import type { Knex } from "knex";
import type { Principal } from "../api/principal.js";
import { assertTenantVisible } from "../api/tenant-scope.js";
import { NotFoundError, PermissionDeniedError } from "../domain/errors.js";
import type { InstanceSet, MemberRole } from "./instance-set.js";
import { membershipOf } from "./instance-set-member-store.js";
import { getInstanceSet } from "./instance-set-store.js";
import { roleManagesSet } from "./set-roles.js";

/**
 * What a caller may do with one set (000 §2.5.4):
 *
 * | caller                     | sees the set | sees instances | changes set / members / instances |
 * |----------------------------|--------------|----------------|-----------------------------------|
 * | admin                      | all          | all            | yes                               |
 * | operator                   | all          | all            | no (the method policy)            |
 * | tenant_admin               | its tenant's | all            | yes                               |
 * | user, teacher/master member| yes          | all            | yes                               |
 * | user, student/worker member| yes          | its own only   | no: permission_denied             |
 * | user, not a member         | not_found    | not_found      | not_found                         |
 */
export interface SetAccess {
  set: InstanceSet;
  /** The caller's live role in the set; null when it is no member (admins, operators). */
  memberRole: MemberRole | null;
  /** May change the set, its members, and drive its instances. */
  manages: boolean;
  /** Whose instances of the set the caller sees: null = everyone's, else only this user's. */
  instancesOf: string | null;
}

export async function accessSet(
  knex: Knex,
  p: Principal,
  id: string,
  options: { lock?: boolean; share?: boolean } = {},
): Promise<SetAccess> {
  const set = await getInstanceSet(knex, id, options);
  assertTenantVisible(p, set.tenantId, "instance set", id);
  const member = p.tenantId === null ? undefined : await membershipOf(knex, id, p.userId);
  if (p.role === "user") {
    // Another user's set answers like a missing one (tenant scoping's rule, one level down).
    if (!member) throw new NotFoundError("instance set", id);
    const manages = roleManagesSet(member.role);
    return { set, memberRole: member.role, manages, instancesOf: manages ? null : p.userId };
  }
  return {
    set,
    memberRole: member?.role ?? null,
    manages: p.role === "admin" || p.role === "tenant_admin",
    instancesOf: null,
  };
}

/** Refuses a change to a set the caller only belongs to as a student (or worker). */
export function requireManager(a: SetAccess, action: string): void {
  if (!a.manages)
    throw new PermissionDeniedError(
      `Cannot ${action} in instance set ${a.set.id}: only its teachers (or masters) and administrators may; you are a ${a.memberRole ?? "reader"} of it`,
    );
}
