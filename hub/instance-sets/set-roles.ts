import type { MemberRole } from "./instance-set.js";

/**
 * 000 §2.5.4: a teacher manages the set and sees every instance in it; a student sees only its own
 * instances. `master` and `worker` are the same two levels for non-training sets (a cluster's
 * lead and its members).
 */
export const MANAGING_ROLES: readonly MemberRole[] = ["teacher", "master"];

export function roleManagesSet(role: MemberRole): boolean {
  return MANAGING_ROLES.includes(role);
}
