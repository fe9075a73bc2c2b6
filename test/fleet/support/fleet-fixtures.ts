import { FleetService } from "../../../gen/edgehub/admin/v1/fleet_pb.js";
import type { TestHub } from "../../support/test-hub.js";

export interface Site {
  edgeDataCenterId: string;
  computePoolId: string;
}

/** An edge data center and a compute pool to enroll machines into. */
export async function createSite(t: TestHub, name = "bj-1"): Promise<Site> {
  const fleet = t.client(FleetService, await t.adminToken());
  const { edgeDataCenterId } = await fleet.createEdgeDataCenter({ name: `${name}-dc`, location: "Beijing" });
  const { computePoolId } = await fleet.createComputePool({ name: `${name}-pool` });
  return { edgeDataCenterId, computePoolId };
}

export async function mintToken(t: TestHub, site: Site, opts: { role?: string; maxUses?: number; ttlSeconds?: number; machineType?: string } = {}): Promise<string> {
  const fleet = t.client(FleetService, await t.adminToken());
  const role = opts.role ?? "compute";
  const res = await fleet.createJoinToken({
    role, edgeDataCenterId: site.edgeDataCenterId, computePoolId: role === "compute" ? site.computePoolId : "",
    maxUses: opts.maxUses ?? 1, ttlSeconds: opts.ttlSeconds ?? 600, machineType: opts.machineType ?? "",
  });
  return res.token;
}
