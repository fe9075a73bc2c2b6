import { AgentRole as AgentRolePb } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import {
  CommandState as CommandStatePb,
  EventSeverity as EventSeverityPb,
} from "../../gen/edgehub/fleet/v1/agent_pb.js";
import type { CommandReport } from "./command-dispatcher.js";

// The agent programs' mappings of the wire enums they send (lib cannot import the hub's fleet-enums.ts).
export const FLEET_ROLES = ["compute", "ceph_gateway", "cloud_box"] as const;
export type FleetRole = (typeof FLEET_ROLES)[number];

export const ROLE_TO_WIRE: Record<FleetRole, AgentRolePb> = {
  compute: AgentRolePb.COMPUTE,
  ceph_gateway: AgentRolePb.CEPH_GATEWAY,
  cloud_box: AgentRolePb.CLOUD_BOX,
};

export const REPORT_TO_WIRE: Record<CommandReport["state"], CommandStatePb> = {
  running: CommandStatePb.RUNNING,
  succeeded: CommandStatePb.SUCCEEDED,
  failed: CommandStatePb.FAILED,
  cancelled: CommandStatePb.CANCELLED,
};

export type EventSeverity = "info" | "warning" | "critical";
export const SEVERITY_TO_WIRE: Record<EventSeverity, EventSeverityPb> = {
  info: EventSeverityPb.INFO,
  warning: EventSeverityPb.WARNING,
  critical: EventSeverityPb.CRITICAL,
};
