import {
  AgentStatus as AgentStatusPb,
  AgentStatusSchema,
  CommandState as CommandStatePb,
  CommandStateSchema,
} from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole as AgentRolePb, AgentRoleSchema } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import {
  CommandState as ReportStatePb,
  CommandStateSchema as ReportStateSchema,
  EventSeverity as EventSeverityPb,
  EventSeveritySchema,
} from "../../gen/edgehub/fleet/v1/agent_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The fleet's closed value lists, each defined once from its proto enum, with the columns whose
// CHECK constraint holds the same list.

/** The machine an agent runs on (admin API and agent stream share edgehub.common.v1.AgentRole). */
export const AGENT_ROLE = enumMapping(
  AgentRoleSchema,
  {
    [AgentRolePb.COMPUTE]: "compute",
    [AgentRolePb.CEPH_GATEWAY]: "ceph_gateway",
    [AgentRolePb.CLOUD_BOX]: "cloud_box",
  },
  [
    { table: "agents", column: "role" },
    { table: "join_tokens", column: "role" },
  ],
);
export type AgentRole = (typeof AGENT_ROLE.dbValues)[number];

export const AGENT_STATUS = enumMapping(
  AgentStatusSchema,
  {
    [AgentStatusPb.ENROLLED]: "enrolled",
    [AgentStatusPb.CONNECTED]: "connected",
    [AgentStatusPb.DISCONNECTED]: "disconnected",
    [AgentStatusPb.OFFLINE]: "offline",
    [AgentStatusPb.REVOKED]: "revoked",
  },
  [{ table: "agents", column: "status" }],
);
export type AgentStatus = (typeof AGENT_STATUS.dbValues)[number];

// A machine's type belongs to the infrastructure; join tokens and agents show it too.
export { MACHINE_TYPE, type MachineType } from "../infrastructure/infrastructure-enums.js";

/** A command's state as the admin API shows it. */
export const COMMAND_STATE = enumMapping(
  CommandStateSchema,
  {
    [CommandStatePb.QUEUED]: "queued",
    [CommandStatePb.DELIVERED]: "delivered",
    [CommandStatePb.RUNNING]: "running",
    [CommandStatePb.SUCCEEDED]: "succeeded",
    [CommandStatePb.FAILED]: "failed",
    [CommandStatePb.CANCELLED]: "cancelled",
    [CommandStatePb.EXPIRED]: "expired",
  },
  [{ table: "agent_commands", column: "state" }],
);
export type CommandState = (typeof COMMAND_STATE.dbValues)[number];

/** What an agent may report about a command (a subset of the command states; no column of its own). */
export const REPORT_STATE = enumMapping(ReportStateSchema, {
  [ReportStatePb.RUNNING]: "running",
  [ReportStatePb.SUCCEEDED]: "succeeded",
  [ReportStatePb.FAILED]: "failed",
  [ReportStatePb.CANCELLED]: "cancelled",
});
export type ReportState = (typeof REPORT_STATE.dbValues)[number];

export const EVENT_SEVERITY = enumMapping(
  EventSeveritySchema,
  { [EventSeverityPb.INFO]: "info", [EventSeverityPb.WARNING]: "warning", [EventSeverityPb.CRITICAL]: "critical" },
  [{ table: "fleet_events", column: "severity" }],
);
export type EventSeverity = (typeof EVENT_SEVERITY.dbValues)[number];
