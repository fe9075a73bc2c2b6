import { AgentRole as AgentRolePb } from "../../gen/edgehub/common/v1/agent_role_pb.js";

// The agent programs' one mapping of the wire AgentRole (lib cannot import the hub's fleet-enums.ts).
export const FLEET_ROLES = ["compute", "ceph_gateway", "cloud_box"] as const;
export type FleetRole = (typeof FLEET_ROLES)[number];

export const ROLE_TO_WIRE: Record<FleetRole, AgentRolePb> = {
  compute: AgentRolePb.COMPUTE,
  ceph_gateway: AgentRolePb.CEPH_GATEWAY,
  cloud_box: AgentRolePb.CLOUD_BOX,
};
