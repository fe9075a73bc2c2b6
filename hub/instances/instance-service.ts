import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { JsonObject } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import {
  InstanceEventSchema,
  InstanceSchema,
  InstanceService,
  VirtualMachineSchema,
  type Instance as InstanceMessage,
} from "../../gen/edgehub/admin/v1/instance_pb.js";
import { GraphicsProtocol } from "../../gen/edgehub/common/v1/compute_pb.js";
import { callerOf } from "../api/caller.js";
import { etagOf } from "../api/etag.js";
import { updatePaths } from "../api/field-mask.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest } from "../api/page-token.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { scopeTenantFilter } from "../api/tenant-scope.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { validName } from "../identity/identity-rules.js";
import type { Instance, InstanceEvent, VirtualMachine } from "./instance.js";
import { issueConsoleTicket } from "./instance-console.js";
import { createInstance } from "./instance-create.js";
import { DESIRED_STATE, INSTANCE_STATUS, RENTAL_MODE, VM_STATUS } from "./instance-enums.js";
import { getVisibleInstance } from "./instance-access.js";
import { listInstanceEvents } from "./instance-events.js";
import { startInstance } from "./instance-start.js";
import { listInstances, liveVmOf, liveVmsOf } from "./instance-store.js";
import {
  deleteInstance,
  restartInstance,
  resizeInstance,
  resumeInstance,
  stopInstance,
  suspendInstance,
  updateInstance,
  type OperationTimeouts,
} from "./instance-verbs.js";
import type { PlacementPort } from "./placement-port.js";

const ALL = ["admin", "tenant_admin", "operator", "user"] as const;
const ACTORS = ["admin", "tenant_admin", "user"] as const;

// Everyone reads what scoping lets them see; operators watch but do not drive instances.
export const instanceServicePolicy: ServicePolicy<typeof InstanceService> = {
  createInstance: rolesAllowed(...ACTORS),
  getInstance: rolesAllowed(...ALL),
  listInstances: rolesAllowed(...ALL),
  updateInstance: rolesAllowed(...ACTORS),
  startInstance: rolesAllowed(...ACTORS),
  stopInstance: rolesAllowed(...ACTORS),
  restartInstance: rolesAllowed(...ACTORS),
  suspendInstance: rolesAllowed(...ACTORS),
  resumeInstance: rolesAllowed(...ACTORS),
  resizeInstance: rolesAllowed(...ACTORS),
  deleteInstance: rolesAllowed(...ACTORS),
  listInstanceEvents: rolesAllowed(...ALL),
  createConsoleTicket: rolesAllowed(...ACTORS),
};

export interface InstanceServiceDeps {
  knex: Knex;
  clock: Clock;
  placement: PlacementPort;
  /** Wakes the reconciler after a mutation (hub.ts passes the running one's). */
  wakeReconciler: () => void;
  timeouts?: Partial<OperationTimeouts & { startTimeoutMs: number; consoleWaitMs: number }>;
}

const UPDATABLE = ["name", "description"] as const;

function vmMessage(v: VirtualMachine) {
  return create(VirtualMachineSchema, {
    id: v.id,
    computeMachineId: v.computeMachineId,
    vmName: v.vmName,
    cpuCores: v.cpuCores,
    memoryGb: v.memoryGb,
    storageGb: v.storageGb,
    gpuCount: v.gpuCount,
    status: VM_STATUS.fromDb(v.status),
    createTime: timestampFromDate(v.createdAt),
    updateTime: timestampFromDate(v.updatedAt),
  });
}

function toMessage(i: Instance, vm: VirtualMachine | undefined): InstanceMessage {
  return create(InstanceSchema, {
    id: i.id,
    name: i.name,
    description: i.description,
    userId: i.userId,
    tenantId: i.tenantId,
    templateId: i.templateId ?? "",
    imageId: i.imageId,
    imageVersionId: i.imageVersionId,
    imageTagUsed: i.imageTagUsed,
    cpuCores: i.cpuCores,
    memoryGb: i.memoryGb,
    storageGb: i.storageGb,
    gpuCount: i.gpuCount,
    gpuModel: i.gpuModel ?? "",
    status: INSTANCE_STATUS.fromDb(i.status),
    desiredState: DESIRED_STATE.fromDb(i.desiredState),
    rentalMode: i.rentalMode ? RENTAL_MODE.fromDb(i.rentalMode) : 0,
    computePoolId: i.resourcePoolId ?? "",
    computeMachineId: i.computeMachineId ?? "",
    virtualMachineId: i.virtualMachineId ?? "",
    virtualMachine: vm && i.virtualMachineId === vm.id ? vmMessage(vm) : undefined,
    lastError: i.lastError,
    operationDeadline: i.operationDeadline ? timestampFromDate(i.operationDeadline) : undefined,
    createTime: timestampFromDate(i.createdAt),
    updateTime: timestampFromDate(i.updatedAt),
    etag: etagOf(i),
  });
}

function eventMessage(e: InstanceEvent) {
  return create(InstanceEventSchema, {
    id: e.id,
    instanceId: e.instanceId,
    kind: e.kind,
    message: e.message,
    attributes: e.attributes as JsonObject,
    createTime: timestampFromDate(e.createdAt),
  });
}

export function createInstanceService(deps: InstanceServiceDeps): ServiceImpl<typeof InstanceService> {
  const t = {
    startTimeoutMs: 10 * 60_000,
    stopTimeoutMs: 5 * 60_000,
    deleteTimeoutMs: 10 * 60_000,
    suspendTimeoutMs: 2 * 60_000,
    consoleWaitMs: 15_000,
    ...deps.timeouts,
  };
  const withVm = async (i: Instance) => ({ instance: toMessage(i, await liveVmOf(deps.knex, i.id)) });
  const mutated = async (i: Instance) => {
    deps.wakeReconciler();
    return withVm(i);
  };
  return {
    async createInstance(req, ctx) {
      const m = req.instance;
      if (!m) throw new InvalidArgumentError("instance", "is required");
      const hasImage = req.imageId !== "";
      const hasTemplate = req.templateId !== "";
      if (hasImage === hasTemplate)
        throw new InvalidArgumentError(
          hasImage ? "template_id" : "image_id",
          "exactly one of image_id and template_id must be set",
        );
      const input = {
        name: validName("instance.name", m.name, 64),
        description: m.description.trim(),
        userId: m.userId,
        size: {
          cpuCores: m.cpuCores,
          memoryGb: m.memoryGb,
          storageGb: m.storageGb,
          gpuCount: m.gpuCount,
          gpuModel: m.gpuModel.trim() || null,
        },
        source: hasImage
          ? { kind: "image" as const, imageId: req.imageId, imageVersion: req.imageVersion.trim() }
          : { kind: "template" as const, templateId: req.templateId, templateVersionId: req.templateVersionId },
      };
      return withVm(await createInstance(deps.knex, callerOf(ctx, deps.clock), input));
    },
    async getInstance(req, ctx) {
      return withVm(await getVisibleInstance(deps.knex, principalOf(ctx), requireId("id", req.id)));
    },
    async listInstances(req, ctx) {
      const p = principalOf(ctx);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const requestedUser = optionalId("user_id", req.userId);
      const result = await listInstances(
        deps.knex,
        {
          tenantId: scopeTenantFilter(p, req.tenantId === "" ? "" : requireId("tenant_id", req.tenantId)),
          // A user sees only its own instances, whatever it asks for.
          userId: p.role === "user" ? p.userId : requestedUser,
          status: INSTANCE_STATUS.toDbFilter("status", req.status),
          computeMachineId: optionalId("compute_machine_id", req.computeMachineId),
          imageVersionId: optionalId("image_version_id", req.imageVersionId),
        },
        page,
      );
      const vms = await liveVmsOf(
        deps.knex,
        result.items.map((i) => i.id),
      );
      return { instances: result.items.map((i) => toMessage(i, vms.get(i.id))), nextPageToken: result.nextPageToken };
    },
    async updateInstance(req, ctx) {
      if (!req.instance) throw new InvalidArgumentError("instance", "is required");
      const m = req.instance;
      const id = requireId("instance.id", m.id);
      const paths = updatePaths(req.updateMask, UPDATABLE);
      const patch: { name?: string; description?: string } = {};
      if (paths.has("name")) patch.name = validName("instance.name", m.name, 64);
      if (paths.has("description")) patch.description = m.description.trim();
      return withVm(await updateInstance(deps.knex, callerOf(ctx, deps.clock), id, m.etag, patch));
    },
    async startInstance(req, ctx) {
      const id = requireId("id", req.id);
      const rentalMode = req.rentalMode === 0 ? "shared" : RENTAL_MODE.toDb("rental_mode", req.rentalMode);
      const computePoolId = optionalId("compute_pool_id", req.computePoolId);
      const { instance, historyId } = await startInstance(
        { knex: deps.knex, placement: deps.placement, startTimeoutMs: t.startTimeoutMs },
        callerOf(ctx, deps.clock),
        id,
        { computePoolId, rentalMode },
      );
      return { ...(await mutated(instance)), schedulingHistoryId: historyId };
    },
    async stopInstance(req, ctx) {
      return mutated(await stopInstance(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), t));
    },
    async restartInstance(req, ctx) {
      return mutated(await restartInstance(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), t));
    },
    async suspendInstance(req, ctx) {
      return mutated(await suspendInstance(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), t));
    },
    async resumeInstance(req, ctx) {
      return mutated(await resumeInstance(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), t));
    },
    async resizeInstance(req, ctx) {
      const change = {
        ...(req.cpuCores !== undefined ? { cpuCores: req.cpuCores } : {}),
        ...(req.memoryGb !== undefined ? { memoryGb: req.memoryGb } : {}),
        ...(req.storageGb !== undefined ? { storageGb: req.storageGb } : {}),
        ...(req.gpuCount !== undefined ? { gpuCount: req.gpuCount } : {}),
        ...(req.gpuModel !== undefined ? { gpuModel: req.gpuModel.trim() || null } : {}),
      };
      return withVm(
        await resizeInstance(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), req.etag, change),
      );
    },
    async deleteInstance(req, ctx) {
      return mutated(await deleteInstance(deps.knex, callerOf(ctx, deps.clock), requireId("id", req.id), t));
    },
    async listInstanceEvents(req, ctx) {
      const id = requireId("instance_id", req.instanceId);
      await getVisibleInstance(deps.knex, principalOf(ctx), id);
      const page = await listInstanceEvents(deps.knex, id, parsePageRequest(req.pageSize, req.pageToken));
      return { events: page.items.map(eventMessage), nextPageToken: page.nextPageToken };
    },
    async createConsoleTicket(req, ctx) {
      const ticket = await issueConsoleTicket(
        { knex: deps.knex, waitMs: t.consoleWaitMs, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
        callerOf(ctx, deps.clock),
        requireId("id", req.id),
      );
      return {
        protocol: ticket.protocol === "spice" ? GraphicsProtocol.SPICE : GraphicsProtocol.VNC,
        host: ticket.host,
        port: ticket.port,
        password: ticket.password,
        expireTime: timestampFromDate(ticket.expireTime),
      };
    },
  };
}
