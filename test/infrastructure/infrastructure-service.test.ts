import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import {
  ComputePoolStatus,
  EdgeDataCenterStatus,
  FleetService,
  SchedulingPolicy,
} from "../../gen/edgehub/admin/v1/fleet_pb.js";
import {
  ComputeMachineGpuStatus,
  ComputeMachineRentalMode,
  ComputeMachineStatus,
  InfrastructureService,
} from "../../gen/edgehub/admin/v1/infrastructure_pb.js";
import { MachineType } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { newId } from "../../hub/db/ids.js";
import { connectErrorOf, errorReasons, violatedFields, walkPages } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { buildWorld, type World } from "../identity/identity-fixtures.js";
import { hello, inventory, recordedGpus, type Site } from "./infrastructure-fixtures.js";

describe(`InfrastructureService (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, function () {
  let t: TestHub;
  let w: World;
  let site: Site;
  let otherPoolId: string;
  const agents = { cpu: newId(), gpu: newId(), spare: newId() };
  const machine: Record<keyof typeof agents, string> = { cpu: "", gpu: "", spare: "" };

  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "infra");
    const fleet = t.client(FleetService, w.adminToken);
    const dc = (await fleet.createEdgeDataCenter({ edgeDataCenter: { name: "Beijing DC", location: "Haidian" } }))
      .edgeDataCenter!;
    const pool = (
      await fleet.createComputePool({
        computePool: { name: "gpu-pool", edgeDataCenterId: dc.id, schedulingPolicy: SchedulingPolicy.PRIORITY },
      })
    ).computePool!;
    otherPoolId = (await fleet.createComputePool({ computePool: { name: "cpu-pool" } })).computePool!.id;
    site = { dataCenterId: dc.id, poolId: pool.id };
    const knex = t.hub.db.knex;
    await hello(knex, site, [
      { agentId: agents.cpu, inventory: inventory("cpu-1", { threads: 64, memoryGb: 256, diskGb: 2000 }) },
      { agentId: agents.gpu, inventory: inventory("gpu-1", { gpus: recordedGpus("nvidia-smi-a100x4.csv") }) },
      { agentId: agents.spare, inventory: inventory("spare-1", { threads: 8, memoryGb: 16, diskGb: 100 }) },
    ]);
    for (const k of Object.keys(agents) as (keyof typeof agents)[])
      machine[k] = (await knex("compute_machines").where({ agent_id: agents[k] }).first("id")).id;
  });
  after(async () => t?.stop());

  const admin = () => t.client(InfrastructureService, w.adminToken);
  const operator = () => t.client(InfrastructureService, w.operatorToken);
  const auditCount = async () => Number((await t.hub.db.knex("audit_log").count({ n: "*" }).first())!.n);

  describe("edge data centers", () => {
    it("shows totals derived from its machines, lists with filters, and updates name and location under an etag", async () => {
      const dc = (await admin().getEdgeDataCenter({ id: site.dataCenterId })).edgeDataCenter!;
      expect(dc.status).to.equal(EdgeDataCenterStatus.ACTIVE);
      expect(dc.totalCpuCores).to.equal(64 + 32 + 8);
      expect(dc.totalMemoryGb).to.equal(256 + 128 + 16);
      expect(dc.totalStorageGb).to.equal(2000 + 1000 + 100);
      const listed = await admin().listEdgeDataCenters({ nameContains: "beijing" });
      expect(listed.edgeDataCenters.map((d) => d.id)).to.deep.equal([dc.id]);
      expect(
        (await admin().listEdgeDataCenters({ status: EdgeDataCenterStatus.OFFLINE })).edgeDataCenters,
      ).to.deep.equal([]);

      const updated = (
        await operator().updateEdgeDataCenter({
          edgeDataCenter: { id: dc.id, name: "Beijing North", location: "Changping", etag: dc.etag },
          updateMask: { paths: ["name", "location"] },
        })
      ).edgeDataCenter!;
      expect([updated.name, updated.location]).to.deep.equal(["Beijing North", "Changping"]);
      expect(updated.etag).to.not.equal(dc.etag);

      const before = await auditCount();
      const stale = await connectErrorOf(
        admin().updateEdgeDataCenter({
          edgeDataCenter: { id: dc.id, name: "Stale", etag: dc.etag },
          updateMask: { paths: ["name"] },
        }),
      );
      expect(stale.code).to.equal(Code.Aborted);
      expect(errorReasons(stale)).to.deep.equal(["ETAG_MISMATCH"]);
      const badMask = await connectErrorOf(
        admin().updateEdgeDataCenter({
          edgeDataCenter: { id: dc.id, status: EdgeDataCenterStatus.OFFLINE },
          updateMask: { paths: ["status"] },
        }),
      );
      expect(badMask.code).to.equal(Code.InvalidArgument);
      expect(violatedFields(badMask)).to.deep.equal(["update_mask"]);
      const emptyName = await connectErrorOf(
        admin().updateEdgeDataCenter({ edgeDataCenter: { id: dc.id, name: "  " }, updateMask: { paths: ["name"] } }),
      );
      expect(violatedFields(emptyName)).to.deep.equal(["edge_data_center.name"]);
      expect((await connectErrorOf(admin().getEdgeDataCenter({ id: newId() }))).code).to.equal(Code.NotFound);
      expect(violatedFields(await connectErrorOf(admin().getEdgeDataCenter({ id: "dc-1" })))).to.deep.equal(["id"]);
      const badFilter = await connectErrorOf(admin().listEdgeDataCenters({ status: 42 as EdgeDataCenterStatus }));
      expect(violatedFields(badFilter)).to.deep.equal(["status"]);
      expect(await auditCount()).to.equal(before);
      expect((await admin().getEdgeDataCenter({ id: dc.id })).edgeDataCenter!.name).to.equal("Beijing North");
    });

    it("goes into maintenance, offline and back to active, one audit row per change and none for a repeat", async () => {
      const id = site.dataCenterId;
      const before = await auditCount();
      expect((await admin().startEdgeDataCenterMaintenance({ id })).edgeDataCenter!.status).to.equal(
        EdgeDataCenterStatus.MAINTENANCE,
      );
      expect((await admin().startEdgeDataCenterMaintenance({ id })).edgeDataCenter!.status).to.equal(
        EdgeDataCenterStatus.MAINTENANCE,
      );
      expect((await operator().takeEdgeDataCenterOffline({ id })).edgeDataCenter!.status).to.equal(
        EdgeDataCenterStatus.OFFLINE,
      );
      expect((await admin().activateEdgeDataCenter({ id })).edgeDataCenter!.status).to.equal(
        EdgeDataCenterStatus.ACTIVE,
      );
      expect(await auditCount()).to.equal(before + 3);
      const actions = await t.hub.db.knex("audit_log").where({ target_id: id }).orderBy("at").pluck("action");
      expect(actions.slice(-3)).to.deep.equal([
        "edge_data_center.start_maintenance",
        "edge_data_center.take_offline",
        "edge_data_center.activate",
      ]);
      expect((await connectErrorOf(admin().takeEdgeDataCenterOffline({ id: newId() }))).code).to.equal(Code.NotFound);
    });
  });

  describe("compute pools", () => {
    it("shows its data center, policy and totals, lists by filters, and updates policy and data center", async () => {
      const pool = (await admin().getComputePool({ id: site.poolId })).computePool!;
      expect(pool.edgeDataCenterId).to.equal(site.dataCenterId);
      expect(pool.schedulingPolicy).to.equal(SchedulingPolicy.PRIORITY);
      expect(pool.status).to.equal(ComputePoolStatus.ACTIVE);
      expect([pool.totalCpuCores, pool.totalGpuCount]).to.deep.equal([104, 4]);
      const byDc = await admin().listComputePools({ edgeDataCenterId: site.dataCenterId });
      expect(byDc.computePools.map((p) => p.id)).to.deep.equal([site.poolId]);
      const byPolicy = await admin().listComputePools({ schedulingPolicy: SchedulingPolicy.LOAD_BALANCE });
      expect(byPolicy.computePools.map((p) => p.id)).to.deep.equal([otherPoolId]);

      const updated = (
        await admin().updateComputePool({
          computePool: {
            id: otherPoolId,
            schedulingPolicy: SchedulingPolicy.ROUND_ROBIN,
            edgeDataCenterId: site.dataCenterId,
            description: "spare capacity",
          },
          updateMask: { paths: ["scheduling_policy", "edge_data_center_id", "description"] },
        })
      ).computePool!;
      expect([updated.schedulingPolicy, updated.edgeDataCenterId, updated.description]).to.deep.equal([
        SchedulingPolicy.ROUND_ROBIN,
        site.dataCenterId,
        "spare capacity",
      ]);
      const detached = (
        await admin().updateComputePool({
          computePool: { id: otherPoolId, edgeDataCenterId: "" },
          updateMask: { paths: ["edge_data_center_id"] },
        })
      ).computePool!;
      expect(detached.edgeDataCenterId).to.equal("");
    });

    it("refuses a bad policy, an unknown data center, a taken name and a stale etag, changing nothing", async () => {
      const before = await auditCount();
      const pool = (await admin().getComputePool({ id: site.poolId })).computePool!;
      const badPolicy = await connectErrorOf(
        admin().updateComputePool({
          computePool: { id: site.poolId, schedulingPolicy: SchedulingPolicy.UNSPECIFIED },
          updateMask: { paths: ["scheduling_policy"] },
        }),
      );
      expect(violatedFields(badPolicy)).to.deep.equal(["compute_pool.scheduling_policy"]);
      const unknownDc = await connectErrorOf(
        admin().updateComputePool({
          computePool: { id: site.poolId, edgeDataCenterId: newId() },
          updateMask: { paths: ["edge_data_center_id"] },
        }),
      );
      expect(violatedFields(unknownDc)).to.deep.equal(["compute_pool.edge_data_center_id"]);
      const taken = await connectErrorOf(
        admin().updateComputePool({
          computePool: { id: site.poolId, name: "CPU-POOL" },
          updateMask: { paths: ["name"] },
        }),
      );
      expect(taken.code).to.equal(Code.AlreadyExists);
      const stale = await connectErrorOf(
        admin().updateComputePool({
          computePool: { id: site.poolId, description: "x", etag: "not-the-etag" },
          updateMask: { paths: ["description"] },
        }),
      );
      expect(stale.code).to.equal(Code.Aborted);
      expect((await connectErrorOf(admin().getComputePool({ id: newId() }))).code).to.equal(Code.NotFound);
      expect(await auditCount()).to.equal(before);
      expect((await admin().getComputePool({ id: site.poolId })).computePool!.etag).to.equal(pool.etag);
    });

    it("FleetService creates pools with a data center and a policy, refusing bad ones by field", async () => {
      const fleet = t.client(FleetService, w.adminToken);
      const before = await auditCount();
      const badPolicy = await connectErrorOf(
        fleet.createComputePool({ computePool: { name: "p-bad", schedulingPolicy: 77 as SchedulingPolicy } }),
      );
      expect(violatedFields(badPolicy)).to.deep.equal(["compute_pool.scheduling_policy"]);
      const unknownDc = await connectErrorOf(
        fleet.createComputePool({ computePool: { name: "p-bad", edgeDataCenterId: newId() } }),
      );
      expect(violatedFields(unknownDc)).to.deep.equal(["compute_pool.edge_data_center_id"]);
      const malformed = await connectErrorOf(
        fleet.createComputePool({ computePool: { name: "p-bad", edgeDataCenterId: "dc" } }),
      );
      expect(violatedFields(malformed)).to.deep.equal(["compute_pool.edge_data_center_id"]);
      expect(await auditCount()).to.equal(before);
      const made = (await fleet.createComputePool({ computePool: { name: "p-default" } })).computePool!;
      expect([made.schedulingPolicy, made.status, made.edgeDataCenterId]).to.deep.equal([
        SchedulingPolicy.LOAD_BALANCE,
        ComputePoolStatus.ACTIVE,
        "",
      ]);
      expect((await admin().getComputePool({ id: made.id })).computePool!.etag).to.equal(made.etag);
    });

    it("goes into maintenance, is disabled and activated again", async () => {
      const id = otherPoolId;
      expect((await operator().startComputePoolMaintenance({ id })).computePool!.status).to.equal(
        ComputePoolStatus.MAINTENANCE,
      );
      expect((await admin().disableComputePool({ id })).computePool!.status).to.equal(ComputePoolStatus.DISABLED);
      const disabled = await admin().listComputePools({ status: ComputePoolStatus.DISABLED });
      expect(disabled.computePools.map((p) => p.id)).to.deep.equal([id]);
      expect((await admin().activateComputePool({ id })).computePool!.status).to.equal(ComputePoolStatus.ACTIVE);
    });
  });

  describe("compute machines", () => {
    it("lists by pool, data center, status, type, rental mode and labels, page by page", async () => {
      const inPool = await admin().listComputeMachines({ computePoolId: site.poolId });
      expect(inPool.computeMachines.map((m) => m.id).sort()).to.deep.equal(Object.values(machine).sort());
      const gpu = await admin().listComputeMachines({ machineType: MachineType.GPU_SERVER });
      expect(gpu.computeMachines.map((m) => m.id)).to.deep.equal([machine.gpu]);
      expect(gpu.computeMachines[0]!.gpuCount).to.equal(4);
      const byDc = await admin().listComputeMachines({
        edgeDataCenterId: site.dataCenterId,
        status: ComputeMachineStatus.ACTIVE,
        rentalMode: ComputeMachineRentalMode.SHARED,
      });
      expect(byDc.computeMachines).to.have.length(3);
      const pages = await walkPages(async (pageSize, pageToken) => {
        const r = await admin().listComputeMachines({ computePoolId: site.poolId, pageSize, pageToken });
        return { items: r.computeMachines, nextPageToken: r.nextPageToken };
      }, 2);
      expect(pages).to.have.length(3);

      await admin().updateComputeMachine({
        computeMachine: { id: machine.gpu, labels: { gpu: "a100", zone: "b" } },
        updateMask: { paths: ["labels"] },
      });
      const labelled = await admin().listComputeMachines({ labels: { gpu: "a100" } });
      expect(labelled.computeMachines.map((m) => m.id)).to.deep.equal([machine.gpu]);
      expect((await admin().listComputeMachines({ labels: { gpu: "t4" } })).computeMachines).to.deep.equal([]);
      const badType = await connectErrorOf(admin().listComputeMachines({ machineType: 9 as MachineType }));
      expect(violatedFields(badType)).to.deep.equal(["machine_type"]);
      const badPool = await connectErrorOf(admin().listComputeMachines({ computePoolId: "pool" }));
      expect(violatedFields(badPool)).to.deep.equal(["compute_pool_id"]);
    });

    it("updates labels and priority; refuses bad labels, an out-of-range priority and a stale etag", async () => {
      const m = (await admin().getComputeMachine({ id: machine.cpu })).computeMachine!;
      const updated = (
        await operator().updateComputeMachine({
          computeMachine: { id: m.id, labels: { rack: "r12" }, priority: 50, etag: m.etag },
          updateMask: { paths: ["labels", "priority"] },
        })
      ).computeMachine!;
      expect(updated.labels).to.deep.equal({ rack: "r12" });
      expect(updated.priority).to.equal(50);
      const before = await auditCount();
      const badLabel = await connectErrorOf(
        admin().updateComputeMachine({
          computeMachine: { id: m.id, labels: { "bad key!": "x" } },
          updateMask: { paths: ["labels"] },
        }),
      );
      expect(violatedFields(badLabel)).to.deep.equal(["compute_machine.labels"]);
      const badPriority = await connectErrorOf(
        admin().updateComputeMachine({
          computeMachine: { id: m.id, priority: 5000 },
          updateMask: { paths: ["priority"] },
        }),
      );
      expect(violatedFields(badPriority)).to.deep.equal(["compute_machine.priority"]);
      const stale = await connectErrorOf(
        admin().updateComputeMachine({
          computeMachine: { id: m.id, priority: 1, etag: m.etag },
          updateMask: { paths: ["priority"] },
        }),
      );
      expect(stale.code).to.equal(Code.Aborted);
      const hostname = await connectErrorOf(
        admin().updateComputeMachine({
          computeMachine: { id: m.id, hostname: "x" },
          updateMask: { paths: ["hostname"] },
        }),
      );
      expect(violatedFields(hostname)).to.deep.equal(["update_mask"]);
      const badMode = await connectErrorOf(
        admin().updateComputeMachine({ computeMachine: { id: m.id }, updateMask: { paths: ["rental_mode"] } }),
      );
      expect(violatedFields(badMode)).to.deep.equal(["compute_machine.rental_mode"]);
      expect(await auditCount()).to.equal(before);
    });

    it("changes the rental mode and transfers only an empty machine; both pools' totals follow a transfer", async () => {
      const knex = t.hub.db.knex;
      await knex("compute_machines")
        .where({ id: machine.spare })
        .update({ allocated_cpu_cores: 2, allocated_memory_gb: 4 });
      const before = await auditCount();
      const mode = await connectErrorOf(
        admin().updateComputeMachine({
          computeMachine: { id: machine.spare, rentalMode: ComputeMachineRentalMode.EXCLUSIVE },
          updateMask: { paths: ["rental_mode"] },
        }),
      );
      expect(mode.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(mode)).to.deep.equal(["MACHINE_HAS_ALLOCATIONS"]);
      const moved = await connectErrorOf(
        admin().transferComputeMachine({ id: machine.spare, computePoolId: otherPoolId }),
      );
      expect(moved.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(moved)).to.deep.equal(["MACHINE_HAS_ALLOCATIONS"]);
      expect(await auditCount()).to.equal(before);
      expect((await knex("compute_machines").where({ id: machine.spare }).first()).resource_pool_id).to.equal(
        site.poolId,
      );

      await knex("compute_machines")
        .where({ id: machine.spare })
        .update({ allocated_cpu_cores: 0, allocated_memory_gb: 0 });
      const exclusive = (
        await admin().updateComputeMachine({
          computeMachine: { id: machine.spare, rentalMode: ComputeMachineRentalMode.EXCLUSIVE },
          updateMask: { paths: ["rental_mode"] },
        })
      ).computeMachine!;
      expect(exclusive.rentalMode).to.equal(ComputeMachineRentalMode.EXCLUSIVE);
      expect(
        (await admin().listComputeMachines({ rentalMode: ComputeMachineRentalMode.EXCLUSIVE })).computeMachines.map(
          (m) => m.id,
        ),
      ).to.deep.equal([machine.spare]);

      const stale = await connectErrorOf(
        admin().transferComputeMachine({ id: machine.spare, computePoolId: otherPoolId, etag: "old" }),
      );
      expect(stale.code).to.equal(Code.Aborted);
      const nowhere = await connectErrorOf(
        admin().transferComputeMachine({ id: machine.spare, computePoolId: newId() }),
      );
      expect(nowhere.code).to.equal(Code.NotFound);
      const transferred = (
        await operator().transferComputeMachine({ id: machine.spare, computePoolId: otherPoolId, etag: exclusive.etag })
      ).computeMachine!;
      expect(transferred.computePoolId).to.equal(otherPoolId);
      const [from, to] = await Promise.all([
        admin().getComputePool({ id: site.poolId }),
        admin().getComputePool({ id: otherPoolId }),
      ]);
      expect([from.computePool!.totalCpuCores, to.computePool!.totalCpuCores]).to.deep.equal([96, 8]);
      expect([from.computePool!.totalMemoryGb, to.computePool!.totalMemoryGb]).to.deep.equal([384, 16]);
      const audit = await knex("audit_log")
        .where({ action: "compute_machine.transfer", target_id: machine.spare })
        .first();
      expect(audit).to.not.equal(undefined);
    });

    it("maintenance keeps what runs and ends on offline while the agent is away; decommission is final and leaves the totals", async () => {
      const id = machine.cpu;
      await t.hub.db.knex("compute_machines").where({ id }).update({ allocated_cpu_cores: 4 });
      const inMaintenance = (await operator().startComputeMachineMaintenance({ id })).computeMachine!;
      expect([inMaintenance.status, inMaintenance.allocatedCpuCores]).to.deep.equal([
        ComputeMachineStatus.MAINTENANCE,
        4,
      ]);
      // Its agent never connected (the test registered the machine directly), so it lands on offline.
      expect((await admin().endComputeMachineMaintenance({ id })).computeMachine!.status).to.equal(
        ComputeMachineStatus.OFFLINE,
      );
      const endAgain = await connectErrorOf(admin().endComputeMachineMaintenance({ id }));
      expect(endAgain.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(endAgain)).to.deep.equal(["ILLEGAL_MACHINE_TRANSITION"]);
      const decommissioned = (await admin().decommissionComputeMachine({ id })).computeMachine!;
      expect(decommissioned.status).to.equal(ComputeMachineStatus.DECOMMISSIONING);
      const pool = (await admin().getComputePool({ id: site.poolId })).computePool!;
      expect(pool.totalCpuCores).to.equal(32);
      const dc = (await admin().getEdgeDataCenter({ id: site.dataCenterId })).edgeDataCenter!;
      expect(dc.totalCpuCores).to.equal(32 + 8);
      for (const call of [
        admin().startComputeMachineMaintenance({ id }),
        admin().endComputeMachineMaintenance({ id }),
      ]) {
        const err = await connectErrorOf(call);
        expect(err.code).to.equal(Code.FailedPrecondition);
        expect(errorReasons(err)).to.deep.equal(["ILLEGAL_MACHINE_TRANSITION"]);
      }
      await t.hub.db.knex("compute_machines").where({ id }).update({ allocated_cpu_cores: 0 });
      const transfer = await connectErrorOf(admin().transferComputeMachine({ id, computePoolId: otherPoolId }));
      expect(errorReasons(transfer)).to.deep.equal(["MACHINE_DECOMMISSIONING"]);
      expect((await admin().decommissionComputeMachine({ id })).computeMachine!.status).to.equal(
        ComputeMachineStatus.DECOMMISSIONING,
      );
      expect((await connectErrorOf(admin().decommissionComputeMachine({ id: newId() }))).code).to.equal(Code.NotFound);

      // A machine whose agent is connected comes back active.
      await t.hub.db.knex("agents").insert({
        id: agents.gpu,
        role: "compute",
        hostname: "gpu-1",
        edge_data_center_id: site.dataCenterId,
        compute_pool_id: site.poolId,
        certificate_serial: "77",
        certificate_expires_at: new Date(Date.now() + 86_400_000),
        status: "connected",
      });
      await admin().startComputeMachineMaintenance({ id: machine.gpu });
      expect((await admin().endComputeMachineMaintenance({ id: machine.gpu })).computeMachine!.status).to.equal(
        ComputeMachineStatus.ACTIVE,
      );
    });
  });

  describe("GPUs", () => {
    it("lists a machine's and a pool's GPUs, takes one into maintenance and back, and refuses an allocated one", async () => {
      const gpus = (await admin().listComputeMachineGpus({ computeMachineId: machine.gpu })).gpus;
      expect(gpus.map((g) => [g.index, g.pciAddress, g.status])).to.deep.equal([
        [0, "00000000:17:00.0", ComputeMachineGpuStatus.AVAILABLE],
        [1, "00000000:31:00.0", ComputeMachineGpuStatus.AVAILABLE],
        [2, "00000000:B1:00.0", ComputeMachineGpuStatus.AVAILABLE],
        [3, "00000000:CA:00.0", ComputeMachineGpuStatus.AVAILABLE],
      ]);
      const pages = await walkPages(async (pageSize, pageToken) => {
        const r = await admin().listComputeMachineGpus({ computePoolId: site.poolId, pageSize, pageToken });
        return { items: r.gpus, nextPageToken: r.nextPageToken };
      }, 3);
      expect(pages).to.deep.equal(gpus.map((g) => g.id));

      const inMaintenance = (await operator().startComputeMachineGpuMaintenance({ id: gpus[1]!.id })).gpu!;
      expect(inMaintenance.status).to.equal(ComputeMachineGpuStatus.MAINTENANCE);
      const listed = await admin().listComputeMachineGpus({ status: ComputeMachineGpuStatus.MAINTENANCE });
      expect(listed.gpus.map((g) => g.id)).to.deep.equal([gpus[1]!.id]);
      expect((await admin().endComputeMachineGpuMaintenance({ id: gpus[1]!.id })).gpu!.status).to.equal(
        ComputeMachineGpuStatus.AVAILABLE,
      );
      expect((await admin().endComputeMachineGpuMaintenance({ id: gpus[1]!.id })).gpu!.status).to.equal(
        ComputeMachineGpuStatus.AVAILABLE,
      );

      await t.hub.db
        .knex("compute_machine_gpus")
        .where({ id: gpus[0]!.id })
        .update({ status: "allocated", allocated_vm_id: newId() });
      const allocated = await connectErrorOf(admin().startComputeMachineGpuMaintenance({ id: gpus[0]!.id }));
      expect(allocated.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(allocated)).to.deep.equal(["GPU_ALLOCATED"]);
      expect((await connectErrorOf(admin().startComputeMachineGpuMaintenance({ id: newId() }))).code).to.equal(
        Code.NotFound,
      );
      const badToken = await connectErrorOf(admin().listComputeMachineGpus({ pageToken: "nope" }));
      expect(violatedFields(badToken)).to.deep.equal(["page_token"]);
    });
  });

  it("tenant roles read nothing and change nothing", async () => {
    for (const token of [w.a.userToken, w.a.tenantAdminToken]) {
      const c = t.client(InfrastructureService, token);
      expect((await connectErrorOf(c.listComputeMachines({}))).code).to.equal(Code.PermissionDenied);
      expect((await connectErrorOf(c.getEdgeDataCenter({ id: site.dataCenterId }))).code).to.equal(
        Code.PermissionDenied,
      );
      expect((await connectErrorOf(c.decommissionComputeMachine({ id: machine.gpu }))).code).to.equal(
        Code.PermissionDenied,
      );
    }
  });
});
