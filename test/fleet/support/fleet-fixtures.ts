import { create } from "@bufbuild/protobuf";
import { FleetService, MachineType } from "../../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../../gen/edgehub/common/v1/agent_role_pb.js";
import { CommandPayloadSchema, type CommandPayload } from "../../../gen/edgehub/common/v1/command_pb.js";
import type { TestHub } from "../../support/test-hub.js";

export interface Site {
  edgeDataCenterId: string;
  computePoolId: string;
}

/** An edge data center and a compute pool to enroll machines into. */
export async function createSite(t: TestHub, name = "bj-1"): Promise<Site> {
  const fleet = t.client(FleetService, await t.adminToken());
  const { edgeDataCenter } = await fleet.createEdgeDataCenter({
    edgeDataCenter: { name: `${name}-dc`, location: "Beijing" },
  });
  const { computePool } = await fleet.createComputePool({ computePool: { name: `${name}-pool` } });
  return { edgeDataCenterId: edgeDataCenter!.id, computePoolId: computePool!.id };
}

export async function mintToken(
  t: TestHub,
  site: Site,
  opts: { role?: AgentRole; maxUses?: number; ttlSeconds?: number; machineType?: MachineType } = {},
): Promise<string> {
  const fleet = t.client(FleetService, await t.adminToken());
  const role = opts.role ?? AgentRole.COMPUTE;
  const res = await fleet.createJoinToken({
    role,
    edgeDataCenterId: site.edgeDataCenterId,
    computePoolId: role === AgentRole.COMPUTE ? site.computePoolId : "",
    maxUses: opts.maxUses ?? 1,
    ttlSeconds: opts.ttlSeconds ?? 600,
    machineType: opts.machineType ?? MachineType.UNSPECIFIED,
  });
  return res.token;
}

/** An echo command's payload. */
export function echo(message = "", delayMs = 0): CommandPayload {
  return create(CommandPayloadSchema, { kind: { case: "echo", value: { message, delayMs } } });
}

export function collectInventory(): CommandPayload {
  return create(CommandPayloadSchema, { kind: { case: "collectInventory", value: {} } });
}
