import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ComputePoolSchema,
  EdgeDataCenterSchema,
  type ComputePool,
  type EdgeDataCenter,
} from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { etagOf } from "../api/etag.js";
import type { ComputePoolRecord } from "./compute-pool-store.js";
import type { EdgeDataCenterRecord } from "./edge-data-center-store.js";
import { COMPUTE_POOL_STATUS, EDGE_DATA_CENTER_STATUS, SCHEDULING_POLICY } from "./infrastructure-enums.js";

// Data centers and pools on the wire: FleetService creates them and InfrastructureService
// manages them, so both answer with the same message built here.

export function edgeDataCenterMessage(d: EdgeDataCenterRecord): EdgeDataCenter {
  return create(EdgeDataCenterSchema, {
    id: d.id,
    name: d.name,
    location: d.location,
    status: EDGE_DATA_CENTER_STATUS.fromDb(d.status),
    totalCpuCores: d.totalCpuCores,
    totalMemoryGb: d.totalMemoryGb,
    totalStorageGb: d.totalStorageGb,
    createTime: timestampFromDate(d.createdAt),
    updateTime: timestampFromDate(d.updatedAt),
    etag: etagOf(d),
  });
}

export function computePoolMessage(p: ComputePoolRecord): ComputePool {
  return create(ComputePoolSchema, {
    id: p.id,
    name: p.name,
    description: p.description,
    status: COMPUTE_POOL_STATUS.fromDb(p.status),
    edgeDataCenterId: p.edgeDataCenterId ?? "",
    schedulingPolicy: SCHEDULING_POLICY.fromDb(p.schedulingPolicy),
    totalCpuCores: p.totalCpuCores,
    totalMemoryGb: p.totalMemoryGb,
    totalStorageGb: p.totalStorageGb,
    totalGpuCount: p.totalGpuCount,
    allocatedCpuCores: p.allocatedCpuCores,
    allocatedMemoryGb: p.allocatedMemoryGb,
    allocatedStorageGb: p.allocatedStorageGb,
    allocatedGpuCount: p.allocatedGpuCount,
    createTime: timestampFromDate(p.createdAt),
    updateTime: timestampFromDate(p.updatedAt),
    etag: etagOf(p),
  });
}
