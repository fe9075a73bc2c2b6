import {
  ComputePoolStatus as ComputePoolStatusPb,
  ComputePoolStatusSchema,
  EdgeDataCenterStatus as EdgeDataCenterStatusPb,
  EdgeDataCenterStatusSchema,
  MachineType as MachineTypePb,
  MachineTypeSchema,
  SchedulingPolicy as SchedulingPolicyPb,
  SchedulingPolicySchema,
} from "../../gen/edgehub/admin/v1/fleet_pb.js";
import {
  ComputeMachineGpuStatus as GpuStatusPb,
  ComputeMachineGpuStatusSchema,
  ComputeMachineHealth as HealthPb,
  ComputeMachineHealthSchema,
  ComputeMachineRentalMode as RentalModePb,
  ComputeMachineRentalModeSchema,
  ComputeMachineStatus as MachineStatusPb,
  ComputeMachineStatusSchema,
} from "../../gen/edgehub/admin/v1/infrastructure_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The infrastructure's closed value lists, each defined once from its proto enum, with the
// columns whose CHECK constraint holds the same list.

export const MACHINE_TYPE = enumMapping(
  MachineTypeSchema,
  {
    [MachineTypePb.CPU_SERVER]: "cpu_server",
    [MachineTypePb.PC_FARM]: "pc_farm",
    [MachineTypePb.GPU_SERVER]: "gpu_server",
  },
  [{ table: "compute_machines", column: "machine_type" }],
);
export type MachineType = (typeof MACHINE_TYPE.dbValues)[number];

export const EDGE_DATA_CENTER_STATUS = enumMapping(
  EdgeDataCenterStatusSchema,
  {
    [EdgeDataCenterStatusPb.ACTIVE]: "active",
    [EdgeDataCenterStatusPb.MAINTENANCE]: "maintenance",
    [EdgeDataCenterStatusPb.OFFLINE]: "offline",
  },
  [{ table: "edge_data_centers", column: "status" }],
);
export type EdgeDataCenterStatus = (typeof EDGE_DATA_CENTER_STATUS.dbValues)[number];

export const COMPUTE_POOL_STATUS = enumMapping(
  ComputePoolStatusSchema,
  {
    [ComputePoolStatusPb.ACTIVE]: "active",
    [ComputePoolStatusPb.MAINTENANCE]: "maintenance",
    [ComputePoolStatusPb.DISABLED]: "disabled",
  },
  [{ table: "compute_pools", column: "status" }],
);
export type ComputePoolStatus = (typeof COMPUTE_POOL_STATUS.dbValues)[number];

export const SCHEDULING_POLICY = enumMapping(
  SchedulingPolicySchema,
  {
    [SchedulingPolicyPb.LOAD_BALANCE]: "load_balance",
    [SchedulingPolicyPb.PRIORITY]: "priority",
    [SchedulingPolicyPb.AFFINITY]: "affinity",
    [SchedulingPolicyPb.ROUND_ROBIN]: "round_robin",
  },
  [{ table: "compute_pools", column: "scheduling_policy" }],
);
export type SchedulingPolicy = (typeof SCHEDULING_POLICY.dbValues)[number];

export const COMPUTE_MACHINE_STATUS = enumMapping(
  ComputeMachineStatusSchema,
  {
    [MachineStatusPb.ACTIVE]: "active",
    [MachineStatusPb.MAINTENANCE]: "maintenance",
    [MachineStatusPb.OFFLINE]: "offline",
    [MachineStatusPb.DECOMMISSIONING]: "decommissioning",
  },
  [{ table: "compute_machines", column: "status" }],
);

export const COMPUTE_MACHINE_HEALTH = enumMapping(
  ComputeMachineHealthSchema,
  {
    [HealthPb.UNKNOWN]: "unknown",
    [HealthPb.HEALTHY]: "healthy",
    [HealthPb.WARNING]: "warning",
    [HealthPb.CRITICAL]: "critical",
  },
  [{ table: "compute_machines", column: "health_status" }],
);
export type ComputeMachineHealth = (typeof COMPUTE_MACHINE_HEALTH.dbValues)[number];

export const RENTAL_MODE = enumMapping(
  ComputeMachineRentalModeSchema,
  { [RentalModePb.SHARED]: "shared", [RentalModePb.EXCLUSIVE]: "exclusive" },
  [{ table: "compute_machines", column: "rental_mode" }],
);
export type RentalMode = (typeof RENTAL_MODE.dbValues)[number];

export const GPU_STATUS = enumMapping(
  ComputeMachineGpuStatusSchema,
  {
    [GpuStatusPb.AVAILABLE]: "available",
    [GpuStatusPb.ALLOCATED]: "allocated",
    [GpuStatusPb.MAINTENANCE]: "maintenance",
    [GpuStatusPb.ERROR]: "error",
  },
  [{ table: "compute_machine_gpus", column: "status" }],
);
export type GpuStatus = (typeof GPU_STATUS.dbValues)[number];
