import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import {
  ComputeMachineGpuSchema,
  ComputeMachineSchema,
  InfrastructureService,
  type ComputeMachine,
  type ComputeMachineGpu,
} from "../../gen/edgehub/admin/v1/infrastructure_pb.js";
import { callerOf } from "../api/caller.js";
import { etagOf } from "../api/etag.js";
import { updatePaths } from "../api/field-mask.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest } from "../api/page-token.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { InvalidArgumentError } from "../domain/errors.js";
import {
  changeGpuStatus,
  listComputeMachineGpus,
  type ComputeMachineGpuRecord,
  type GpuVerb,
} from "./compute-machine-gpu-store.js";
import {
  changeMachineStatus,
  getComputeMachine,
  listComputeMachines,
  transferComputeMachine,
  updateComputeMachine,
  type ComputeMachinePatch,
  type ComputeMachineRecord,
  type MachineVerb,
} from "./compute-machine-store.js";
import {
  getComputePool,
  listComputePools,
  setComputePoolStatus,
  updateComputePool,
  type ComputePoolPatch,
} from "./compute-pool-store.js";
import {
  getEdgeDataCenter,
  listEdgeDataCenters,
  setEdgeDataCenterStatus,
  updateEdgeDataCenter,
  type EdgeDataCenterPatch,
} from "./edge-data-center-store.js";
import {
  COMPUTE_MACHINE_HEALTH,
  COMPUTE_MACHINE_STATUS,
  COMPUTE_POOL_STATUS,
  EDGE_DATA_CENTER_STATUS,
  GPU_STATUS,
  MACHINE_TYPE,
  RENTAL_MODE,
  SCHEDULING_POLICY,
  type ComputePoolStatus,
  type EdgeDataCenterStatus,
} from "./infrastructure-enums.js";
import { checkedLabels, checkedPriority } from "./machine-labels.js";
import { checkedName } from "./site-names.js";
import { computePoolMessage, edgeDataCenterMessage } from "./site-wire.js";

// The infrastructure is the platform's, not a tenant's: admins and operators read and manage it
// (spec 000 §1: the operator keeps the machines running); tenant roles see none of it.
const MANAGERS = rolesAllowed("admin", "operator");

export const infrastructureServicePolicy: ServicePolicy<typeof InfrastructureService> = {
  getEdgeDataCenter: MANAGERS,
  listEdgeDataCenters: MANAGERS,
  updateEdgeDataCenter: MANAGERS,
  activateEdgeDataCenter: MANAGERS,
  startEdgeDataCenterMaintenance: MANAGERS,
  takeEdgeDataCenterOffline: MANAGERS,
  getComputePool: MANAGERS,
  listComputePools: MANAGERS,
  updateComputePool: MANAGERS,
  activateComputePool: MANAGERS,
  startComputePoolMaintenance: MANAGERS,
  disableComputePool: MANAGERS,
  getComputeMachine: MANAGERS,
  listComputeMachines: MANAGERS,
  updateComputeMachine: MANAGERS,
  startComputeMachineMaintenance: MANAGERS,
  endComputeMachineMaintenance: MANAGERS,
  decommissionComputeMachine: MANAGERS,
  transferComputeMachine: MANAGERS,
  listComputeMachineGpus: MANAGERS,
  startComputeMachineGpuMaintenance: MANAGERS,
  endComputeMachineGpuMaintenance: MANAGERS,
};

const DATA_CENTER_UPDATABLE = ["name", "location"] as const;
const POOL_UPDATABLE = ["name", "description", "scheduling_policy", "edge_data_center_id"] as const;
const MACHINE_UPDATABLE = ["labels", "priority", "rental_mode"] as const;

function machineMessage(m: ComputeMachineRecord): ComputeMachine {
  return create(ComputeMachineSchema, {
    id: m.id,
    hostname: m.hostname,
    machineType: MACHINE_TYPE.fromDb(m.machineType),
    cpuCores: m.cpuCores,
    memoryGb: m.memoryGb,
    storageGb: m.storageGb,
    gpuCount: m.gpuCount,
    allocatedCpuCores: m.allocatedCpuCores,
    allocatedMemoryGb: m.allocatedMemoryGb,
    allocatedStorageGb: m.allocatedStorageGb,
    allocatedGpuCount: m.allocatedGpuCount,
    status: COMPUTE_MACHINE_STATUS.fromDb(m.status),
    healthStatus: COMPUTE_MACHINE_HEALTH.fromDb(m.healthStatus),
    hypervisorType: m.hypervisorType,
    rentalMode: RENTAL_MODE.fromDb(m.rentalMode),
    computePoolId: m.computePoolId,
    edgeDataCenterId: m.edgeDataCenterId,
    agentId: m.agentId ?? "",
    labels: m.labels,
    priority: m.priority,
    capacityShortfall: m.capacityShortfall,
    createTime: timestampFromDate(m.createdAt),
    updateTime: timestampFromDate(m.updatedAt),
    etag: etagOf(m),
  });
}

function gpuMessage(g: ComputeMachineGpuRecord): ComputeMachineGpu {
  return create(ComputeMachineGpuSchema, {
    id: g.id,
    computeMachineId: g.computeMachineId,
    index: g.index,
    gpuUuid: g.gpuUuid,
    model: g.model,
    memoryMib: g.memoryMib,
    pciAddress: g.pciAddress,
    status: GPU_STATUS.fromDb(g.status),
    allocatedVmId: g.allocatedVmId ?? "",
    createTime: timestampFromDate(g.createdAt),
    updateTime: timestampFromDate(g.updatedAt),
    etag: etagOf(g),
  });
}

export function createInfrastructureService(deps: {
  knex: Knex;
  clock: Clock;
}): ServiceImpl<typeof InfrastructureService> {
  const { knex } = deps;
  const caller = (ctx: HandlerContext) => callerOf(ctx, deps.clock);
  const dataCenterStatus = async (id: string, status: EdgeDataCenterStatus, ctx: HandlerContext) => ({
    edgeDataCenter: edgeDataCenterMessage(
      await setEdgeDataCenterStatus(knex, caller(ctx), requireId("id", id), status),
    ),
  });
  const poolStatus = async (id: string, status: ComputePoolStatus, ctx: HandlerContext) => ({
    computePool: computePoolMessage(await setComputePoolStatus(knex, caller(ctx), requireId("id", id), status)),
  });
  const machineStatus = async (id: string, verb: MachineVerb, ctx: HandlerContext) => ({
    computeMachine: machineMessage(await changeMachineStatus(knex, caller(ctx), requireId("id", id), verb)),
  });
  const gpuStatus = async (id: string, verb: GpuVerb, ctx: HandlerContext) => ({
    gpu: gpuMessage(await changeGpuStatus(knex, caller(ctx), requireId("id", id), verb)),
  });
  return {
    async getEdgeDataCenter(req) {
      return { edgeDataCenter: edgeDataCenterMessage(await getEdgeDataCenter(knex, requireId("id", req.id))) };
    },
    async listEdgeDataCenters(req) {
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const result = await listEdgeDataCenters(
        knex,
        { status: EDGE_DATA_CENTER_STATUS.toDbFilter("status", req.status), nameContains: req.nameContains.trim() },
        page,
      );
      return { edgeDataCenters: result.items.map(edgeDataCenterMessage), nextPageToken: result.nextPageToken };
    },
    async updateEdgeDataCenter(req, ctx) {
      const d = req.edgeDataCenter;
      if (!d) throw new InvalidArgumentError("edge_data_center", "is required");
      const id = requireId("edge_data_center.id", d.id);
      const paths = updatePaths(req.updateMask, DATA_CENTER_UPDATABLE);
      const patch: EdgeDataCenterPatch = {};
      if (paths.has("name")) patch.name = checkedName("edge_data_center.name", d.name);
      if (paths.has("location")) patch.location = d.location.trim();
      return {
        edgeDataCenter: edgeDataCenterMessage(await updateEdgeDataCenter(knex, caller(ctx), id, d.etag, patch)),
      };
    },
    activateEdgeDataCenter: (req, ctx) => dataCenterStatus(req.id, "active", ctx),
    startEdgeDataCenterMaintenance: (req, ctx) => dataCenterStatus(req.id, "maintenance", ctx),
    takeEdgeDataCenterOffline: (req, ctx) => dataCenterStatus(req.id, "offline", ctx),

    async getComputePool(req) {
      return { computePool: computePoolMessage(await getComputePool(knex, requireId("id", req.id))) };
    },
    async listComputePools(req) {
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const result = await listComputePools(
        knex,
        {
          edgeDataCenterId: optionalId("edge_data_center_id", req.edgeDataCenterId),
          status: COMPUTE_POOL_STATUS.toDbFilter("status", req.status),
          schedulingPolicy: SCHEDULING_POLICY.toDbFilter("scheduling_policy", req.schedulingPolicy),
          nameContains: req.nameContains.trim(),
        },
        page,
      );
      return { computePools: result.items.map(computePoolMessage), nextPageToken: result.nextPageToken };
    },
    async updateComputePool(req, ctx) {
      const p = req.computePool;
      if (!p) throw new InvalidArgumentError("compute_pool", "is required");
      const id = requireId("compute_pool.id", p.id);
      const paths = updatePaths(req.updateMask, POOL_UPDATABLE);
      const patch: ComputePoolPatch = {};
      if (paths.has("name")) patch.name = checkedName("compute_pool.name", p.name);
      if (paths.has("description")) patch.description = p.description.trim();
      if (paths.has("scheduling_policy"))
        patch.schedulingPolicy = SCHEDULING_POLICY.toDb("compute_pool.scheduling_policy", p.schedulingPolicy);
      if (paths.has("edge_data_center_id"))
        patch.edgeDataCenterId = optionalId("compute_pool.edge_data_center_id", p.edgeDataCenterId);
      return { computePool: computePoolMessage(await updateComputePool(knex, caller(ctx), id, p.etag, patch)) };
    },
    activateComputePool: (req, ctx) => poolStatus(req.id, "active", ctx),
    startComputePoolMaintenance: (req, ctx) => poolStatus(req.id, "maintenance", ctx),
    disableComputePool: (req, ctx) => poolStatus(req.id, "disabled", ctx),

    async getComputeMachine(req) {
      return { computeMachine: machineMessage(await getComputeMachine(knex, requireId("id", req.id))) };
    },
    async listComputeMachines(req) {
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const result = await listComputeMachines(
        knex,
        {
          computePoolId: optionalId("compute_pool_id", req.computePoolId),
          edgeDataCenterId: optionalId("edge_data_center_id", req.edgeDataCenterId),
          status: COMPUTE_MACHINE_STATUS.toDbFilter("status", req.status),
          machineType: MACHINE_TYPE.toDbFilter("machine_type", req.machineType),
          rentalMode: RENTAL_MODE.toDbFilter("rental_mode", req.rentalMode),
          labels: checkedLabels("labels", req.labels),
          hostnameContains: req.hostnameContains.trim(),
        },
        page,
      );
      return { computeMachines: result.items.map(machineMessage), nextPageToken: result.nextPageToken };
    },
    async updateComputeMachine(req, ctx) {
      const m = req.computeMachine;
      if (!m) throw new InvalidArgumentError("compute_machine", "is required");
      const id = requireId("compute_machine.id", m.id);
      const paths = updatePaths(req.updateMask, MACHINE_UPDATABLE);
      const patch: ComputeMachinePatch = {};
      if (paths.has("labels")) patch.labels = checkedLabels("compute_machine.labels", m.labels);
      if (paths.has("priority")) patch.priority = checkedPriority("compute_machine.priority", m.priority);
      if (paths.has("rental_mode")) patch.rentalMode = RENTAL_MODE.toDb("compute_machine.rental_mode", m.rentalMode);
      return { computeMachine: machineMessage(await updateComputeMachine(knex, caller(ctx), id, m.etag, patch)) };
    },
    startComputeMachineMaintenance: (req, ctx) => machineStatus(req.id, "start_maintenance", ctx),
    endComputeMachineMaintenance: (req, ctx) => machineStatus(req.id, "end_maintenance", ctx),
    decommissionComputeMachine: (req, ctx) => machineStatus(req.id, "decommission", ctx),
    async transferComputeMachine(req, ctx) {
      const id = requireId("id", req.id);
      const poolId = requireId("compute_pool_id", req.computePoolId);
      return {
        computeMachine: machineMessage(await transferComputeMachine(knex, caller(ctx), id, req.etag, poolId)),
      };
    },

    async listComputeMachineGpus(req) {
      const page = parsePageRequest(req.pageSize, req.pageToken, 2);
      const result = await listComputeMachineGpus(
        knex,
        {
          computeMachineId: optionalId("compute_machine_id", req.computeMachineId),
          computePoolId: optionalId("compute_pool_id", req.computePoolId),
          status: GPU_STATUS.toDbFilter("status", req.status),
        },
        page,
      );
      return { gpus: result.items.map(gpuMessage), nextPageToken: result.nextPageToken };
    },
    startComputeMachineGpuMaintenance: (req, ctx) => gpuStatus(req.id, "start_maintenance", ctx),
    endComputeMachineGpuMaintenance: (req, ctx) => gpuStatus(req.id, "end_maintenance", ctx),
  };
}
