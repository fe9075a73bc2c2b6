/** The machines an agent can run on; the wire enum is mapped to these at the stream edge. */
export const AGENT_ROLES = ["compute", "ceph_gateway", "cloud_box"] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

export const MACHINE_TYPES = ["cpu_server", "pc_farm", "gpu_server"] as const;
export type MachineType = (typeof MACHINE_TYPES)[number];

export function isAgentRole(value: string): value is AgentRole {
  return (AGENT_ROLES as readonly string[]).includes(value);
}

export function isMachineType(value: string): value is MachineType {
  return (MACHINE_TYPES as readonly string[]).includes(value);
}
