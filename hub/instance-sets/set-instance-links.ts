import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { eachItem, type Outcome } from "./batch-outcome.js";
import type { InstanceSet, MemberRole } from "./instance-set.js";
import { assertSetAcceptsNew } from "./instance-set-lifecycle.js";
import { membershipOf } from "./instance-set-member-store.js";
import { accessSet, requireManager } from "./instance-set-permissions.js";
import { getInstanceSet } from "./instance-set-store.js";
import { getSetInstance, linkInstance, setOfInstance, unlinkInstance, type SetInstance } from "./set-instance-store.js";

/**
 * Links an instance to the set inside the caller's transaction (set share-locked and active): the
 * instance must be live, of the set's tenant, owned by a member, and in no set yet.
 */
export async function linkInstanceIn(
  trx: Knex.Transaction,
  caller: Caller,
  set: InstanceSet,
  instanceId: string,
  role: MemberRole | null,
): Promise<SetInstance> {
  const i = (await trx("instances")
    .where({ id: instanceId })
    .whereNull("deleted_at")
    .forUpdate()
    .first("user_id", "tenant_id")) as { user_id: string; tenant_id: string } | undefined;
  if (!i || i.tenant_id !== set.tenantId) throw new NotFoundError("instance", instanceId);
  const owner = await membershipOf(trx, set.id, i.user_id);
  if (!owner)
    throw new FailedPreconditionError(
      `Cannot add instance ${instanceId} to instance set ${set.id}: its owner ${i.user_id} is not a member of the set; add the owner first`,
      { reason: "OWNER_NOT_MEMBER", metadata: { instance_id: instanceId, user_id: i.user_id } },
    );
  const current = await setOfInstance(trx, instanceId);
  if (current === set.id)
    throw new AlreadyExistsError(
      "instance set instance",
      `instance ${instanceId} is already in instance set ${set.id}`,
    );
  if (current !== undefined)
    throw new FailedPreconditionError(
      `Cannot add instance ${instanceId} to instance set ${set.id}: it is in instance set ${current}; an instance is in at most one set`,
      { reason: "INSTANCE_IN_ANOTHER_SET", metadata: { instance_id: instanceId, instance_set_id: current } },
    );
  const linkRole = role ?? owner.role;
  await linkInstance(trx, {
    instanceSetId: set.id,
    instanceId,
    role: linkRole,
    at: caller.at,
    addedBy: caller.principal.userId,
  });
  await recordChange(trx, caller, {
    tenantId: set.tenantId,
    action: "instance_set.add_instance",
    targetType: "instance_set",
    targetId: set.id,
    after: { instanceId, role: linkRole },
  });
  return (await getSetInstance(trx, set.id, instanceId))!;
}

/** AddInstanceSetInstances: managers only, an active set; each instance in its own transaction. */
export async function addInstances(
  knex: Knex,
  caller: Caller,
  setId: string,
  items: readonly { instanceId: string; role: MemberRole | null }[],
): Promise<Outcome<SetInstance>[]> {
  const access = await accessSet(knex, caller.principal, setId);
  requireManager(access, "add instances");
  assertSetAcceptsNew(access.set, "add instances to");
  return eachItem(items, (item) =>
    knex.transaction(async (trx) => {
      const set = await getInstanceSet(trx, setId, { share: true });
      assertSetAcceptsNew(set, "add instances to");
      return linkInstanceIn(trx, caller, set, item.instanceId, item.role);
    }),
  );
}

/** RemoveInstanceSetInstances: managers only; the instances are unlinked, not deleted. */
export async function removeInstances(
  knex: Knex,
  caller: Caller,
  setId: string,
  instanceIds: readonly string[],
): Promise<Outcome<SetInstance>[]> {
  const access = await accessSet(knex, caller.principal, setId);
  requireManager(access, "remove instances");
  return eachItem(instanceIds, (instanceId) =>
    knex.transaction(async (trx) => {
      const before = await getSetInstance(trx, setId, instanceId);
      if (!before || !(await unlinkInstance(trx, setId, instanceId, caller.at, caller.principal.userId)))
        throw new NotFoundError("instance set instance", instanceId);
      await recordChange(trx, caller, {
        tenantId: access.set.tenantId,
        action: "instance_set.remove_instance",
        targetType: "instance_set",
        targetId: setId,
        before: { instanceId, role: before.role },
      });
      return before;
    }),
  );
}
