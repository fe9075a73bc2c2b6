import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { checkEtag } from "../api/etag.js";
import { requireId } from "../api/resource-id.js";
import { assertTenantVisible } from "../api/tenant-scope.js";
import { recordChange } from "../audit/record-change.js";
import { getVisibleTemplate } from "../catalog/template-store.js";
import { newId } from "../db/ids.js";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import type { InstanceSet, SetStatus, SetType } from "./instance-set.js";
import { transitionSet } from "./instance-set-lifecycle.js";
import { endAllMemberships, insertMember } from "./instance-set-member-store.js";
import { accessSet, requireManager } from "./instance-set-permissions.js";
import { getInstanceSet } from "./instance-set-store.js";
import { unlinkAll } from "./set-instance-store.js";

export interface CreateSetInput {
  name: string;
  description: string;
  /** Empty: the caller. */
  ownerId: string;
  userGroupId: string | null;
  setType: SetType;
  tags: Record<string, string>;
  templateId: string | null;
}

/** The owner of a new set: the caller, or a user of the tenant an admin / tenant_admin names. */
async function ownerOf(knex: Knex, caller: Caller, ownerId: string): Promise<{ userId: string; tenantId: string }> {
  const p = caller.principal;
  if (ownerId === "" || ownerId === p.userId) {
    if (p.tenantId === null)
      throw new InvalidArgumentError(
        "instance_set.owner_id",
        "must name the owner: a system account belongs to no tenant",
      );
    return { userId: p.userId, tenantId: p.tenantId };
  }
  const id = requireId("instance_set.owner_id", ownerId);
  const row = (await knex("users").where({ id }).whereNull("deleted_at").first("id", "tenant_id")) as
    { id: string; tenant_id: string | null } | undefined;
  if (!row) throw new NotFoundError("user", id);
  assertTenantVisible(p, row.tenant_id, "user", id);
  // A user creates sets it owns; naming someone else answers like a missing user (as instances do).
  if (p.role === "user") throw new NotFoundError("user", id);
  if (row.tenant_id === null)
    throw new InvalidArgumentError("instance_set.owner_id", `user ${id} is a system account and cannot own a set`);
  return { userId: row.id, tenantId: row.tenant_id };
}

async function checkUserGroup(knex: Knex, tenantId: string, groupId: string | null): Promise<void> {
  if (groupId === null) return;
  const g = (await knex("user_groups").where({ id: groupId }).whereNull("deleted_at").first("tenant_id")) as
    { tenant_id: string } | undefined;
  if (!g || g.tenant_id !== tenantId) throw new NotFoundError("user group", groupId);
}

/** An instance-set template (000 §6.2.2) the caller may see, active. */
async function checkSetTemplate(knex: Knex, caller: Caller, templateId: string | null): Promise<void> {
  if (templateId === null) return;
  const t = await getVisibleTemplate(knex, templateId, caller.principal);
  if (t.config.templateType !== "instance_set")
    throw new InvalidArgumentError(
      "template_id",
      "is an instance template; an instance set takes an instance_set template",
    );
  if (t.status !== "active")
    throw new FailedPreconditionError(`Cannot use template ${t.config.name}: it is ${t.status}`, {
      reason: "TEMPLATE_NOT_ACTIVE",
      metadata: { template_id: t.id, status: t.status },
    });
}

async function assertNameFree(knex: Knex, tenantId: string, name: string, exceptId?: string): Promise<void> {
  const q = knex("instance_sets")
    .where({ tenant_id: tenantId })
    .whereRaw("lower(name) = lower(?)", [name])
    .whereNull("deleted_at")
    .first("id");
  if (exceptId) q.whereNot("id", exceptId);
  if (await q) throw new AlreadyExistsError("instance set", `the name "${name}" is taken in tenant ${tenantId}`);
}

/** CreateInstanceSet (000 §2.5.1 step 1): an active set; its owner joins as teacher (training) or master. */
export async function createInstanceSet(knex: Knex, caller: Caller, input: CreateSetInput): Promise<InstanceSet> {
  const owner = await ownerOf(knex, caller, input.ownerId);
  await checkUserGroup(knex, owner.tenantId, input.userGroupId);
  await checkSetTemplate(knex, caller, input.templateId);
  const id = newId();
  return knex.transaction(async (trx) => {
    await assertNameFree(trx, owner.tenantId, input.name);
    await trx("instance_sets").insert({
      id,
      tenant_id: owner.tenantId,
      owner_id: owner.userId,
      user_group_id: input.userGroupId,
      template_id: input.templateId,
      name: input.name,
      description: input.description,
      set_type: input.setType,
      status: "active",
      tags: JSON.stringify(input.tags),
      created_at: caller.at,
      updated_at: caller.at,
      created_by: caller.principal.userId,
      updated_by: caller.principal.userId,
    });
    await insertMember(trx, {
      instanceSetId: id,
      userId: owner.userId,
      role: input.setType === "training" ? "teacher" : "master",
      at: caller.at,
      addedBy: caller.principal.userId,
    });
    const after = await getInstanceSet(trx, id);
    await recordChange(trx, caller, {
      tenantId: owner.tenantId,
      action: "instance_set.create",
      targetType: "instance_set",
      targetId: id,
      after,
    });
    return after;
  });
}

export interface SetPatch {
  name?: string;
  description?: string;
  userGroupId?: string | null;
  tags?: Record<string, string>;
}

/** UpdateInstanceSet: name, description, user group, tags; managers only; etag checked on the locked row. */
export async function updateInstanceSet(
  knex: Knex,
  caller: Caller,
  id: string,
  etag: string,
  patch: SetPatch,
): Promise<InstanceSet> {
  return knex.transaction(async (trx) => {
    const access = await accessSet(trx, caller.principal, id, { lock: true });
    requireManager(access, "change the set");
    const before = access.set;
    checkEtag(etag, before, "instance set", id);
    if (patch.name !== undefined) await assertNameFree(trx, before.tenantId, patch.name, id);
    if (patch.userGroupId !== undefined) await checkUserGroup(trx, before.tenantId, patch.userGroupId);
    await trx("instance_sets")
      .where({ id })
      .update({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.userGroupId !== undefined ? { user_group_id: patch.userGroupId } : {}),
        ...(patch.tags !== undefined ? { tags: JSON.stringify(patch.tags) } : {}),
        updated_at: caller.at,
        updated_by: caller.principal.userId,
      });
    const after = await getInstanceSet(trx, id);
    await recordChange(trx, caller, {
      tenantId: before.tenantId,
      action: "instance_set.update",
      targetType: "instance_set",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

/** Archive, unarchive or delete: a guarded status move with its audit row; managers only. */
export async function moveInstanceSet(
  knex: Knex,
  caller: Caller,
  id: string,
  to: Exclude<SetStatus, "active"> | "active",
): Promise<InstanceSet> {
  const verb = to === "archived" ? "archive" : to === "deleted" ? "delete" : "unarchive";
  return knex.transaction(async (trx) => {
    const access = await accessSet(trx, caller.principal, id, { lock: true });
    requireManager(access, `${verb} the set`);
    const by = caller.principal.userId;
    const from = await transitionSet(trx, id, to, caller.at, {
      updated_by: by,
      ...(to === "deleted" ? { deleted_at: caller.at } : {}),
    });
    let unlinked = 0;
    if (to === "deleted") {
      // 000 §2.2: deleting a set never deletes its instances, it only ends the links.
      unlinked = await unlinkAll(trx, id, caller.at, by);
      await endAllMemberships(trx, id, caller.at, by);
    }
    const row = await trx("instance_sets").where({ id }).first("status", "updated_at");
    const after: InstanceSet = {
      ...access.set,
      status: row.status,
      updatedAt: new Date(row.updated_at),
      updatedBy: by,
    };
    await recordChange(trx, caller, {
      tenantId: access.set.tenantId,
      action: `instance_set.${verb}`,
      targetType: "instance_set",
      targetId: id,
      before: { status: from },
      after: { status: to, ...(to === "deleted" ? { instancesUnlinked: unlinked } : {}) },
    });
    return after;
  });
}
