import { AgentRole as AgentRolePb } from "../../gen/edgehub/fleet/v1/agent_pb.js";

export const FLEET_ROLES = ["compute", "ceph_gateway", "cloud_box"] as const;
export type FleetRole = (typeof FLEET_ROLES)[number];

export const ROLE_TO_WIRE: Record<FleetRole, AgentRolePb> = {
  compute: AgentRolePb.COMPUTE,
  ceph_gateway: AgentRolePb.CEPH_GATEWAY,
  cloud_box: AgentRolePb.CLOUD_BOX,
};
