import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { getVisibleImage } from "../catalog/image-store.js";
import { getTemplate, getVisibleTemplate } from "../catalog/template-store.js";
import { recordChange } from "../audit/record-change.js";
import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import { createInstanceFor, type CreateInstanceInput } from "../instances/instance-create.js";
import type { SizeInput } from "../instances/instance-spec-rules.js";
import { eachItem, type Outcome } from "./batch-outcome.js";
import type { InstanceSet, InstanceSetMember, MemberRole } from "./instance-set.js";
import { assertSetAcceptsNew } from "./instance-set-lifecycle.js";
import { insertMemberIfAbsent, membershipOf } from "./instance-set-member-store.js";
import { tenantUser } from "./instance-set-membership.js";
import { accessSet, requireManager } from "./instance-set-permissions.js";
import { getInstanceSet } from "./instance-set-store.js";
import { MANAGING_ROLES, roleManagesSet } from "./set-roles.js";
import { MAX_BATCH_STUDENTS } from "./instance-set-validation.js";
import { linkInstanceIn } from "./set-instance-links.js";
import type { SetInstance } from "./set-instance-store.js";

/** The size and source of the instances of one kind (the teacher's, the students'). */
export interface BatchSpec {
  /** null: the first member template of the set's instance-set template (000 §6.2.2). */
  source: CreateInstanceInput["source"] | null;
  size: SizeInput;
  description: string;
}

export interface BatchCreateInput {
  teacher: { userId: string; name: string; spec: BatchSpec } | null;
  studentSpec: BatchSpec | null;
  students: readonly { userId: string; name: string }[];
  /** Add the direct members of the set's user group (those not listed and not managing the set). */
  studentsFromUserGroup: boolean;
}

export interface BatchCreateItem {
  userId: string;
  role: MemberRole;
  name: string;
  outcome: Outcome<SetInstance>;
}

interface PlannedItem {
  userId: string;
  role: MemberRole;
  /** Empty: named after the set and the user (or the template's pattern). */
  name: string;
  /** Position among the students; -1 for the teacher. */
  index: number;
  spec: BatchSpec;
  source: CreateInstanceInput["source"];
}

/** The set's user group's direct live members not in `listed` and not managing the set, by user id. */
async function groupRoster(
  knex: Knex,
  set: InstanceSet,
  listed: readonly { userId: string }[],
): Promise<{ userId: string; name: string }[]> {
  if (set.userGroupId === null)
    throw new FailedPreconditionError(
      `Cannot take the students of instance set ${set.id} from its user group: it has none; set user_group_id first`,
      { reason: "SET_HAS_NO_USER_GROUP", metadata: { instance_set_id: set.id } },
    );
  const skip = new Set(listed.map((s) => s.userId));
  const rows = (await knex("user_group_members as g")
    .join("users as u", "u.id", "g.user_id")
    .where("g.group_id", set.userGroupId)
    .whereNull("u.deleted_at")
    .whereNotExists((q) =>
      q
        .select(knex.raw("1"))
        .from("instance_set_members as m")
        .whereRaw("m.user_id = g.user_id")
        .where("m.instance_set_id", set.id)
        .whereNull("m.removed_at")
        .whereIn("m.role", MANAGING_ROLES as MemberRole[]),
    )
    .orderBy("g.user_id")
    .pluck("g.user_id")) as string[];
  return rows.filter((id) => !skip.has(id)).map((userId) => ({ userId, name: "" }));
}

/** The user's membership, made with `role` (and audited) when it has none. */
async function joinIfAbsent(
  trx: Knex.Transaction,
  caller: Caller,
  set: InstanceSet,
  userId: string,
  role: MemberRole,
): Promise<InstanceSetMember> {
  const at = caller.at;
  if (await insertMemberIfAbsent(trx, { instanceSetId: set.id, userId, role, at, addedBy: caller.principal.userId }))
    await recordChange(trx, caller, {
      tenantId: set.tenantId,
      action: "instance_set.add_member",
      targetType: "instance_set",
      targetId: set.id,
      after: { userId, role },
    });
  return (await membershipOf(trx, set.id, userId))!;
}

/** The role a batch gives: teacher / student in a training set, master / worker in the others. */
function roleIn(set: InstanceSet, lead: boolean): MemberRole {
  if (set.setType === "training") return lead ? "teacher" : "student";
  return lead ? "master" : "worker";
}

/** Resolves the source once for the whole batch, so a wrong image or template is one refusal, not N. */
async function sourceOf(
  knex: Knex,
  caller: Caller,
  set: InstanceSet,
  spec: BatchSpec,
  field: string,
): Promise<CreateInstanceInput["source"]> {
  if (spec.source?.kind === "image") {
    await getVisibleImage(knex, spec.source.imageId, caller.principal);
    return spec.source;
  }
  if (spec.source?.kind === "template") {
    await getVisibleTemplate(knex, spec.source.templateId, caller.principal);
    return spec.source;
  }
  const member = set.templateId
    ? (await getTemplate(knex, set.templateId)).config.instanceSet?.memberTemplateIds[0]
    : undefined;
  if (!member)
    throw new InvalidArgumentError(
      `${field}.image_id`,
      "exactly one of image_id and template_id must be set (the set has no instance-set template to take one from)",
    );
  return { kind: "template", templateId: member, templateVersionId: "" };
}

/**
 * Students' instances take the template's name pattern (`lab-{i}`, i = 1-based position in the
 * request) when the set has one; otherwise, and for the teacher's, `<set name>-<username>`.
 */
async function defaultNamer(knex: Knex, set: InstanceSet): Promise<(username: string, index: number) => string> {
  const pattern = set.templateId
    ? (await getTemplate(knex, set.templateId)).config.instanceSet?.instanceNamePattern
    : undefined;
  return (username, index) =>
    (pattern && index >= 0 ? pattern.replaceAll("{i}", String(index + 1)) : `${set.name}-${username}`).slice(0, 64);
}

/**
 * BatchCreateInstances (000 §2.3, §2.5.1 step 2): for the teacher (optional) and each student, in
 * its own transaction: the user joins the set if it is not a member, the instance is created by
 * hub/instances (owned by that user, charged to that user's quota, audited) and linked to the set
 * with its role. A student whose quota is short fails alone (000 §2.5.4).
 */
export async function batchCreateInstances(
  knex: Knex,
  caller: Caller,
  setId: string,
  input: BatchCreateInput,
): Promise<BatchCreateItem[]> {
  const access = await accessSet(knex, caller.principal, setId);
  requireManager(access, "create instances");
  assertSetAcceptsNew(access.set, "create instances in");
  const set = access.set;
  const plan: PlannedItem[] = [];
  if (input.teacher) {
    const userId = input.teacher.userId || caller.principal.userId;
    if (caller.principal.tenantId === null && input.teacher.userId === "")
      throw new InvalidArgumentError(
        "teacher_instance.user_id",
        "must name the teacher: a system account owns no instances",
      );
    const source = await sourceOf(knex, caller, set, input.teacher.spec, "teacher_instance.spec");
    plan.push({
      userId,
      role: roleIn(set, true),
      name: input.teacher.name,
      index: -1,
      spec: input.teacher.spec,
      source,
    });
  }
  const students = input.studentsFromUserGroup
    ? [...input.students, ...(await groupRoster(knex, set, input.students))]
    : input.students;
  if (students.length > MAX_BATCH_STUDENTS)
    throw new InvalidArgumentError("students", `must come to at most ${MAX_BATCH_STUDENTS} with the user group's`);
  if (students.length > 0) {
    if (!input.studentSpec) throw new InvalidArgumentError("student_spec", "is required when students are listed");
    const source = await sourceOf(knex, caller, set, input.studentSpec, "student_spec");
    students.forEach((s, index) =>
      plan.push({ userId: s.userId, role: roleIn(set, false), name: s.name, index, spec: input.studentSpec!, source }),
    );
  }
  const namer = await defaultNamer(knex, set);
  const outcomes = await eachItem(plan, (item) =>
    knex.transaction(async (trx) => {
      const current = await getInstanceSet(trx, setId, { share: true });
      assertSetAcceptsNew(current, "create instances in");
      const user = await tenantUser(trx, current, item.userId);
      const member = await joinIfAbsent(trx, caller, current, user.id, item.role);
      if (roleManagesSet(item.role) && !roleManagesSet(member.role))
        throw new FailedPreconditionError(
          `Cannot create the ${item.role} instance for user ${user.id}: it is a ${member.role} of instance set ${setId}`,
          { reason: "MEMBER_ROLE_MISMATCH", metadata: { user_id: user.id, role: member.role } },
        );
      const instance = await createInstanceFor(
        trx,
        caller,
        { userId: user.id, tenantId: user.tenantId },
        {
          name: item.name || namer(user.username, item.index),
          description: item.spec.description,
          userId: user.id,
          size: item.spec.size,
          source: item.source,
        },
      );
      return linkInstanceIn(trx, caller, current, instance.id, item.role);
    }),
  );
  return plan.map((item, i) => ({
    userId: item.userId,
    role: item.role,
    name: item.name,
    outcome: outcomes[i]!,
  }));
}
