import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { eachItem, type Outcome } from "./batch-outcome.js";
import type { InstanceSet, InstanceSetMember, MemberRole } from "./instance-set.js";
import { assertSetAcceptsNew } from "./instance-set-lifecycle.js";
import { endMembership, insertMember, membershipOf } from "./instance-set-member-store.js";
import { accessSet, requireManager } from "./instance-set-permissions.js";
import { getInstanceSet } from "./instance-set-store.js";

/** A live user of the set's tenant that can own instances (not a system account), or not_found. */
export async function tenantUser(
  knex: Knex,
  set: InstanceSet,
  userId: string,
): Promise<{ id: string; username: string; tenantId: string }> {
  const row = (await knex("users")
    .where({ id: userId })
    .whereNull("deleted_at")
    .first("id", "username", "tenant_id")) as { id: string; username: string; tenant_id: string | null } | undefined;
  // Users of other tenants answer like missing ones (tenant scoping).
  if (!row || row.tenant_id !== set.tenantId) throw new NotFoundError("user", userId);
  return { id: row.id, username: row.username, tenantId: row.tenant_id };
}

/**
 * Adds `userId` with `role` inside the caller's transaction (the set row already share-locked and
 * active); already_exists when the user is a member.
 */
export async function addMemberIn(
  trx: Knex.Transaction,
  caller: Caller,
  set: InstanceSet,
  userId: string,
  role: MemberRole,
): Promise<InstanceSetMember> {
  await tenantUser(trx, set, userId);
  const existing = await membershipOf(trx, set.id, userId);
  if (existing)
    throw new AlreadyExistsError(
      "instance set member",
      `user ${userId} is already a ${existing.role} of instance set ${set.id}`,
    );
  const member = await insertMember(trx, {
    instanceSetId: set.id,
    userId,
    role,
    at: caller.at,
    addedBy: caller.principal.userId,
  });
  await recordChange(trx, caller, {
    tenantId: set.tenantId,
    action: "instance_set.add_member",
    targetType: "instance_set",
    targetId: set.id,
    after: { userId, role },
  });
  return member;
}

/** AddInstanceSetMembers: managers only, an active set; each user in its own transaction. */
export async function addMembers(
  knex: Knex,
  caller: Caller,
  setId: string,
  members: readonly { userId: string; role: MemberRole }[],
): Promise<Outcome<InstanceSetMember>[]> {
  const access = await accessSet(knex, caller.principal, setId);
  requireManager(access, "add members");
  assertSetAcceptsNew(access.set, "add members to");
  return eachItem(members, (m) =>
    knex.transaction(async (trx) => {
      const set = await getInstanceSet(trx, setId, { share: true });
      assertSetAcceptsNew(set, "add members to");
      return addMemberIn(trx, caller, set, m.userId, m.role);
    }),
  );
}

/** RemoveInstanceSetMembers: managers only; the owner stays; the members' instances stay in the set. */
export async function removeMembers(
  knex: Knex,
  caller: Caller,
  setId: string,
  userIds: readonly string[],
): Promise<Outcome<InstanceSetMember>[]> {
  const access = await accessSet(knex, caller.principal, setId);
  requireManager(access, "remove members");
  return eachItem(userIds, (userId) =>
    knex.transaction(async (trx) => {
      const set = await getInstanceSet(trx, setId, { share: true });
      if (userId === set.ownerId)
        throw new FailedPreconditionError(`Cannot remove user ${userId} from instance set ${setId}: it owns the set`, {
          reason: "SET_OWNER",
          metadata: { instance_set_id: setId, user_id: userId },
        });
      const member = await membershipOf(trx, setId, userId);
      if (!member) throw new NotFoundError("instance set member", userId);
      await endMembership(trx, setId, userId, caller.at, caller.principal.userId);
      await recordChange(trx, caller, {
        tenantId: set.tenantId,
        action: "instance_set.remove_member",
        targetType: "instance_set",
        targetId: setId,
        before: { userId, role: member.role },
      });
      return member;
    }),
  );
}
