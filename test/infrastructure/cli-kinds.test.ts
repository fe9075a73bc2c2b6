import { expect } from "chai";
import { loadAdminApi } from "../../edgehubctl/admin-services.js";
import { findKind, resourceKinds, type ResourceKind } from "../../edgehubctl/resource-kinds.js";

// edgehubctl builds its kinds from the descriptors; data centers and pools are created by
// FleetService and managed by InfrastructureService, and the CLI must reach both.

const methodsOf = (k: ResourceKind) =>
  Object.fromEntries(
    (["get", "list", "create", "update"] as const).flatMap((s) => (k[s] ? [[s, k[s]!.parent.name]] : [])),
  );

describe("edgehubctl kinds of the infrastructure", () => {
  let kinds: ResourceKind[];
  before(async () => {
    kinds = resourceKinds((await loadAdminApi()).services);
  });

  it("edge data centers and pools: created through FleetService, read, updated and switched through InfrastructureService", () => {
    const dc = findKind(kinds, "edge-data-centers")!;
    expect(methodsOf(dc)).to.deep.equal({
      get: "InfrastructureService",
      list: "InfrastructureService",
      create: "FleetService",
      update: "InfrastructureService",
    });
    expect(dc.verbs.map((v) => `${v.name}:${v.method.parent.name}`)).to.deep.equal([
      "activate:InfrastructureService",
      "start-maintenance:InfrastructureService",
      "take-offline:InfrastructureService",
    ]);
    const pool = findKind(kinds, "compute-pool")!;
    expect(pool.verbs.map((v) => v.name)).to.deep.equal(["activate", "start-maintenance", "disable"]);
  });

  it("machines and GPUs with their verbs", () => {
    expect(findKind(kinds, "compute-machines")!.verbs.map((v) => v.name)).to.deep.equal([
      "start-maintenance",
      "end-maintenance",
      "decommission",
      "transfer",
    ]);
    expect(findKind(kinds, "compute-machine-gpus")!.verbs.map((v) => v.name)).to.deep.equal([
      "start-maintenance",
      "end-maintenance",
    ]);
  });
});
