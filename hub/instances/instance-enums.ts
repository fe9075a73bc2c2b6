import {
  InstanceDesiredState as DesiredPb,
  InstanceDesiredStateSchema,
  InstanceStatus as StatusPb,
  InstanceStatusSchema,
  RentalMode as RentalModePb,
  RentalModeSchema,
  VirtualMachineStatus as VmStatusPb,
  VirtualMachineStatusSchema,
} from "../../gen/edgehub/admin/v1/instance_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The closed vocabularies of 000 §2.1 and §1.5: each wire enum ⇄ the text its column stores.

export const INSTANCE_STATUS = enumMapping(
  InstanceStatusSchema,
  {
    [StatusPb.CREATING]: "creating",
    [StatusPb.INITIALIZING]: "initializing",
    [StatusPb.RUNNING]: "running",
    [StatusPb.SUSPENDED]: "suspended",
    [StatusPb.STOPPING]: "stopping",
    [StatusPb.STOPPED]: "stopped",
    [StatusPb.TERMINATING]: "terminating",
    [StatusPb.DELETED]: "deleted",
  },
  [{ table: "instances", column: "status" }],
);
export type InstanceStatus = (typeof INSTANCE_STATUS.dbValues)[number];

export const DESIRED_STATE = enumMapping(
  InstanceDesiredStateSchema,
  {
    [DesiredPb.RUNNING]: "running",
    [DesiredPb.SUSPENDED]: "suspended",
    [DesiredPb.STOPPED]: "stopped",
    [DesiredPb.DELETED]: "deleted",
  },
  [{ table: "instances", column: "desired_state" }],
);
export type DesiredState = (typeof DESIRED_STATE.dbValues)[number];

export const RENTAL_MODE = enumMapping(
  RentalModeSchema,
  { [RentalModePb.SHARED]: "shared", [RentalModePb.EXCLUSIVE]: "exclusive" },
  [{ table: "instances", column: "rental_mode" }],
);
export type RentalMode = (typeof RENTAL_MODE.dbValues)[number];

export const VM_STATUS = enumMapping(
  VirtualMachineStatusSchema,
  {
    [VmStatusPb.CREATING]: "creating",
    [VmStatusPb.STARTING]: "starting",
    [VmStatusPb.RUNNING]: "running",
    [VmStatusPb.STOPPING]: "stopping",
    [VmStatusPb.STOPPED]: "stopped",
    [VmStatusPb.RESTARTING]: "restarting",
    [VmStatusPb.ERROR]: "error",
    [VmStatusPb.DELETED]: "deleted",
  },
  [{ table: "virtual_machines", column: "status" }],
);
export type VmStatus = (typeof VM_STATUS.dbValues)[number];
