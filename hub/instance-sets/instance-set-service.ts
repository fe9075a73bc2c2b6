import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import {
  InstanceSetService,
  type BatchInstanceSpec,
  type InstanceSetInstanceResultSchema,
} from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import { callerOf } from "../api/caller.js";
import { updatePaths } from "../api/field-mask.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest } from "../api/page-token.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { scopeTenantFilter } from "../api/tenant-scope.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { validName } from "../identity/identity-rules.js";
import { INSTANCE_STATUS, RENTAL_MODE, type RentalMode } from "../instances/instance-enums.js";
import { validateSize } from "../instances/instance-spec-rules.js";
import type { PlacementPort } from "../instances/placement-port.js";
import { batchCreateInstances, type BatchSpec } from "./batch-create.js";
import type { Outcome } from "./batch-outcome.js";
import { batchVerb, type BatchVerb } from "./batch-verbs.js";
import { SET_ROLE, SET_STATUS, SET_TYPE } from "./instance-set-enums.js";
import { addMembers, removeMembers } from "./instance-set-membership.js";
import { listMembers } from "./instance-set-member-store.js";
import { createInstanceSet, moveInstanceSet, updateInstanceSet, type SetPatch } from "./instance-set-operations.js";
import { accessSet, requireManager } from "./instance-set-permissions.js";
import { listInstanceSets } from "./instance-set-store.js";
import {
  MAX_BATCH_ITEMS,
  MAX_BATCH_STUDENTS,
  validDescription,
  validIdList,
  validSetName,
  validTags,
} from "./instance-set-validation.js";
import { itemError, memberMessage, setInstanceMessage, setMessage } from "./instance-set-wire.js";
import { listMyInstanceSets } from "./my-instance-sets.js";
import { addInstances, removeInstances } from "./set-instance-links.js";
import { listSetInstances, type SetInstance } from "./set-instance-store.js";

const ALL = ["admin", "tenant_admin", "operator", "user"] as const;
// Teachers are users (000 §2.5.1 "老师有创建实例集的权限"); whether a user may change a given set
// is its role there, checked in the handler (instance-set-permissions.ts). Operators only read.
const ACTORS = ["admin", "tenant_admin", "user"] as const;

export const instanceSetServicePolicy: ServicePolicy<typeof InstanceSetService> = {
  createInstanceSet: rolesAllowed(...ACTORS),
  getInstanceSet: rolesAllowed(...ALL),
  listInstanceSets: rolesAllowed(...ALL),
  updateInstanceSet: rolesAllowed(...ACTORS),
  deleteInstanceSet: rolesAllowed(...ACTORS),
  archiveInstanceSet: rolesAllowed(...ACTORS),
  unarchiveInstanceSet: rolesAllowed(...ACTORS),
  addInstanceSetMembers: rolesAllowed(...ACTORS),
  removeInstanceSetMembers: rolesAllowed(...ACTORS),
  listInstanceSetMembers: rolesAllowed(...ALL),
  addInstanceSetInstances: rolesAllowed(...ACTORS),
  removeInstanceSetInstances: rolesAllowed(...ACTORS),
  listInstanceSetInstances: rolesAllowed(...ALL),
  batchCreateInstances: rolesAllowed(...ACTORS),
  batchStartInstances: rolesAllowed(...ACTORS),
  batchStopInstances: rolesAllowed(...ACTORS),
  batchRestartInstances: rolesAllowed(...ACTORS),
  batchDeleteInstances: rolesAllowed(...ACTORS),
  listMyInstanceSets: rolesAllowed(...ALL),
};

export interface InstanceSetServiceDeps {
  knex: Knex;
  clock: Clock;
  placement: PlacementPort;
  /** Wakes the instance reconciler after a batch verb. */
  wakeReconciler: () => void;
  timeouts?: Partial<{
    startTimeoutMs: number;
    stopTimeoutMs: number;
    deleteTimeoutMs: number;
    suspendTimeoutMs: number;
  }>;
}

type StartOptions = { computePoolId: string | null; rentalMode: RentalMode };

const UPDATABLE = ["name", "description", "user_group_id", "tags"] as const;

/** A batch spec from the wire: sizes checked here so a bad one names its field once, not per student. */
function batchSpec(field: string, s: BatchInstanceSpec | undefined): BatchSpec {
  if (!s) throw new InvalidArgumentError(field, "is required");
  if (s.imageId !== "" && s.templateId !== "")
    throw new InvalidArgumentError(`${field}.template_id`, "exactly one of image_id and template_id must be set");
  const size = {
    cpuCores: s.cpuCores,
    memoryGb: s.memoryGb,
    storageGb: s.storageGb,
    gpuCount: s.gpuCount,
    gpuModel: s.gpuModel.trim() || null,
  };
  const prefix = `${field}.`;
  if (s.imageId !== "") validateSize(size, prefix);
  else
    for (const [k, v] of Object.entries({
      cpu_cores: s.cpuCores,
      memory_gb: s.memoryGb,
      storage_gb: s.storageGb,
      gpu_count: s.gpuCount,
    }))
      if (!Number.isInteger(v) || v < 0)
        throw new InvalidArgumentError(`${prefix}${k}`, `must be a non-negative integer, got ${v}`);
  return {
    source:
      s.imageId !== ""
        ? { kind: "image", imageId: requireId(`${prefix}image_id`, s.imageId), imageVersion: s.imageVersion.trim() }
        : s.templateId !== ""
          ? {
              kind: "template",
              templateId: requireId(`${prefix}template_id`, s.templateId),
              templateVersionId: optionalId(`${prefix}template_version_id`, s.templateVersionId) ?? "",
            }
          : null,
    size,
    description: validDescription(`${prefix}description`, s.description),
  };
}

function instanceResults(
  items: { instanceId: string; outcome: Outcome<SetInstance> }[],
): MessageInitShape<typeof InstanceSetInstanceResultSchema>[] {
  return items.map(({ instanceId, outcome }) =>
    outcome.ok
      ? { instanceId, instance: setInstanceMessage(outcome.value) }
      : { instanceId, error: itemError(outcome.error) },
  );
}

export function createInstanceSetService(deps: InstanceSetServiceDeps): ServiceImpl<typeof InstanceSetService> {
  const timeouts = {
    startTimeoutMs: 10 * 60_000,
    stopTimeoutMs: 5 * 60_000,
    deleteTimeoutMs: 10 * 60_000,
    suspendTimeoutMs: 2 * 60_000,
    ...deps.timeouts,
  };
  const verbDeps = { knex: deps.knex, placement: deps.placement, timeouts };
  const runVerb = async (
    ctx: Parameters<typeof callerOf>[0],
    req: { instanceSetId: string; instanceIds: string[] },
    verb: BatchVerb,
    start: StartOptions = { computePoolId: null, rentalMode: "shared" },
  ) => {
    const setId = requireId("instance_set_id", req.instanceSetId);
    const ids = validIdList("instance_ids", req.instanceIds, MAX_BATCH_ITEMS, { allowEmpty: true });
    const items = await batchVerb(verbDeps, callerOf(ctx, deps.clock), setId, verb, ids, start);
    deps.wakeReconciler();
    return { results: instanceResults(items) };
  };
  return {
    async createInstanceSet(req, ctx) {
      const m = req.instanceSet;
      if (!m) throw new InvalidArgumentError("instance_set", "is required");
      const set = await createInstanceSet(deps.knex, callerOf(ctx, deps.clock), {
        name: validSetName("instance_set.name", m.name),
        description: validDescription("instance_set.description", m.description),
        ownerId: m.ownerId,
        userGroupId: optionalId("instance_set.user_group_id", m.userGroupId),
        setType: SET_TYPE.toDb("instance_set.set_type", m.setType),
        tags: validTags("instance_set.tags", m.tags),
        templateId: optionalId("template_id", req.templateId),
      });
      return { instanceSet: setMessage(set) };
    },
    async getInstanceSet(req, ctx) {
      const access = await accessSet(deps.knex, principalOf(ctx), requireId("id", req.id));
      return { instanceSet: setMessage(access.set) };
    },
    async listInstanceSets(req, ctx) {
      const p = principalOf(ctx);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const status = SET_STATUS.toDbFilter("status", req.status);
      if (status === "deleted") throw new InvalidArgumentError("status", "deleted sets are not listed");
      const result = await listInstanceSets(
        deps.knex,
        {
          tenantId: scopeTenantFilter(p, req.tenantId === "" ? "" : requireId("tenant_id", req.tenantId)),
          setType: SET_TYPE.toDbFilter("set_type", req.setType),
          status,
          ownerId: optionalId("owner_id", req.ownerId),
          // A user sees only the sets it belongs to, whatever it asks for.
          memberUserId: p.role === "user" ? p.userId : optionalId("member_user_id", req.memberUserId),
        },
        page,
      );
      return { instanceSets: result.items.map(setMessage), nextPageToken: result.nextPageToken };
    },
    async updateInstanceSet(req, ctx) {
      const m = req.instanceSet;
      if (!m) throw new InvalidArgumentError("instance_set", "is required");
      const id = requireId("instance_set.id", m.id);
      const paths = updatePaths(req.updateMask, UPDATABLE);
      const patch: SetPatch = {};
      if (paths.has("name")) patch.name = validSetName("instance_set.name", m.name);
      if (paths.has("description")) patch.description = validDescription("instance_set.description", m.description);
      if (paths.has("user_group_id")) patch.userGroupId = optionalId("instance_set.user_group_id", m.userGroupId);
      if (paths.has("tags")) patch.tags = validTags("instance_set.tags", m.tags);
      const set = await updateInstanceSet(deps.knex, callerOf(ctx, deps.clock), id, m.etag, patch);
      return { instanceSet: setMessage(set) };
    },
    async deleteInstanceSet(req, ctx) {
      const set = await moveInstanceSet(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), "deleted");
      return { instanceSet: setMessage(set) };
    },
    async archiveInstanceSet(req, ctx) {
      const set = await moveInstanceSet(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), "archived");
      return { instanceSet: setMessage(set) };
    },
    async unarchiveInstanceSet(req, ctx) {
      const set = await moveInstanceSet(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), "active");
      return { instanceSet: setMessage(set) };
    },
    async addInstanceSetMembers(req, ctx) {
      const setId = requireId("instance_set_id", req.instanceSetId);
      validIdList(
        "members",
        req.members.map((m) => m.userId),
        MAX_BATCH_ITEMS,
        { allowEmpty: false, itemField: (i) => `members[${i}].user_id` },
      );
      const members = req.members.map((m, i) => ({
        userId: m.userId,
        role: SET_ROLE.toDb(`members[${i}].role`, m.role),
      }));
      const outcomes = await addMembers(deps.knex, callerOf(ctx, deps.clock), setId, members);
      return {
        results: outcomes.map((o, i) =>
          o.ok
            ? { userId: members[i]!.userId, member: memberMessage(o.value) }
            : { userId: members[i]!.userId, error: itemError(o.error) },
        ),
      };
    },
    async removeInstanceSetMembers(req, ctx) {
      const setId = requireId("instance_set_id", req.instanceSetId);
      const ids = validIdList("user_ids", req.userIds, MAX_BATCH_ITEMS, { allowEmpty: false });
      const outcomes = await removeMembers(deps.knex, callerOf(ctx, deps.clock), setId, ids);
      return {
        results: outcomes.map((o, i) =>
          o.ok ? { userId: ids[i]!, member: memberMessage(o.value) } : { userId: ids[i]!, error: itemError(o.error) },
        ),
      };
    },
    async listInstanceSetMembers(req, ctx) {
      const setId = requireId("instance_set_id", req.instanceSetId);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const access = await accessSet(deps.knex, principalOf(ctx), setId);
      // A student sees its own instances, not who its classmates are (000 §2.5.4).
      if (access.memberRole !== null && access.instancesOf !== null) requireManager(access, "list the members");
      const result = await listMembers(deps.knex, setId, page);
      return { members: result.items.map(memberMessage), nextPageToken: result.nextPageToken };
    },
    async addInstanceSetInstances(req, ctx) {
      const setId = requireId("instance_set_id", req.instanceSetId);
      validIdList(
        "instances",
        req.instances.map((i) => i.instanceId),
        MAX_BATCH_ITEMS,
        { allowEmpty: false, itemField: (n) => `instances[${n}].instance_id` },
      );
      const items = req.instances.map((i, n) => ({
        instanceId: i.instanceId,
        role: SET_ROLE.toDbFilter(`instances[${n}].role`, i.role),
      }));
      const outcomes = await addInstances(deps.knex, callerOf(ctx, deps.clock), setId, items);
      return { results: instanceResults(items.map((i, n) => ({ instanceId: i.instanceId, outcome: outcomes[n]! }))) };
    },
    async removeInstanceSetInstances(req, ctx) {
      const setId = requireId("instance_set_id", req.instanceSetId);
      const ids = validIdList("instance_ids", req.instanceIds, MAX_BATCH_ITEMS, { allowEmpty: false });
      const outcomes = await removeInstances(deps.knex, callerOf(ctx, deps.clock), setId, ids);
      return { results: instanceResults(ids.map((instanceId, n) => ({ instanceId, outcome: outcomes[n]! }))) };
    },
    async listInstanceSetInstances(req, ctx) {
      const setId = requireId("instance_set_id", req.instanceSetId);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const access = await accessSet(deps.knex, principalOf(ctx), setId);
      const status = INSTANCE_STATUS.toDbFilter("status", req.status);
      const result = await listSetInstances(deps.knex, setId, { ownerId: access.instancesOf, status }, page);
      return { instances: result.items.map(setInstanceMessage), nextPageToken: result.nextPageToken };
    },
    async batchCreateInstances(req, ctx) {
      const setId = requireId("instance_set_id", req.instanceSetId);
      if (req.students.length > MAX_BATCH_STUDENTS)
        throw new InvalidArgumentError(
          "students",
          `must have at most ${MAX_BATCH_STUDENTS} entries, got ${req.students.length}`,
        );
      validIdList(
        "students",
        req.students.map((s) => s.userId),
        MAX_BATCH_STUDENTS,
        { allowEmpty: true, itemField: (i) => `students[${i}].user_id` },
      );
      if (req.students.length === 0 && !req.teacherInstance && !req.studentsFromUserGroup)
        throw new InvalidArgumentError("students", "name at least one student, or a teacher_instance");
      const students = req.students.map((s, i) => ({
        userId: s.userId,
        name: s.name.trim() === "" ? "" : validName(`students[${i}].name`, s.name, 64),
      }));
      const t = req.teacherInstance;
      const teacher = t
        ? {
            userId: optionalId("teacher_instance.user_id", t.userId) ?? "",
            name: t.name.trim() === "" ? "" : validName("teacher_instance.name", t.name, 64),
            spec: batchSpec("teacher_instance.spec", t.spec),
          }
        : null;
      const studentSpec =
        students.length > 0 || req.studentsFromUserGroup ? batchSpec("student_spec", req.studentSpec) : null;
      const items = await batchCreateInstances(deps.knex, callerOf(ctx, deps.clock), setId, {
        teacher,
        studentSpec,
        students,
        studentsFromUserGroup: req.studentsFromUserGroup,
      });
      const results = items.map((item) => ({
        userId: item.userId,
        role: SET_ROLE.fromDb(item.role),
        name: item.outcome.ok ? item.outcome.value.name : item.name,
        ...(item.outcome.ok
          ? { instance: setInstanceMessage(item.outcome.value) }
          : { error: itemError(item.outcome.error) }),
      }));
      const created = items.filter((i) => i.outcome.ok).length;
      return { results, createdCount: created, failedCount: items.length - created };
    },
    async batchStartInstances(req, ctx) {
      return runVerb(ctx, req, "start", {
        computePoolId: optionalId("compute_pool_id", req.computePoolId),
        rentalMode: req.rentalMode === 0 ? "shared" : RENTAL_MODE.toDb("rental_mode", req.rentalMode),
      });
    },
    async batchStopInstances(req, ctx) {
      return runVerb(ctx, req, "stop");
    },
    async batchRestartInstances(req, ctx) {
      return runVerb(ctx, req, "restart");
    },
    async batchDeleteInstances(req, ctx) {
      return runVerb(ctx, req, "delete");
    },
    async listMyInstanceSets(req, ctx) {
      const p = principalOf(ctx);
      const page = await listMyInstanceSets(deps.knex, p.userId, parsePageRequest(req.pageSize, req.pageToken));
      return {
        instanceSets: page.items.map((v) => ({
          instanceSet: setMessage(v.set),
          role: SET_ROLE.fromDb(v.role),
          instances: v.instances.map(setInstanceMessage),
        })),
        nextPageToken: page.nextPageToken,
      };
    },
  };
}
