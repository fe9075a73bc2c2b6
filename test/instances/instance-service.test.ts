import { expect } from "chai";
import { create, toJson } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import pino from "pino";
import { ManualClock } from "../../lib/clock/clock.js";
import { ImageArchitecture, ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { InstanceService, InstanceStatus, RentalMode } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { CommandResultSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { DomainState, GraphicsProtocol } from "../../gen/edgehub/common/v1/compute_pb.js";
import { ADVISORY_LOCK_KEYS } from "../../hub/db/advisory-lock-keys.js";
import { applyAgentReport, markDelivered } from "../../hub/fleet/command-store.js";
import { InstanceReconciler } from "../../hub/instances/instance-reconciler.js";
import { releaseAllocation } from "../../hub/scheduler/release-allocation.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD, counts, failure, type TestUser } from "../catalog/catalog-fixtures.js";
import { seedMachines, seedPool } from "../scheduler/fleet-seed.js";

// The instance API on a real hub (PGlite, or PostgreSQL with DATABASE_URL). The compute agent is
// played by the test through the real command store: it answers each queued command the way the
// contract says an agent does (a DomainReport), so the hub's reconciler is exercised step by step.

describe("InstanceService: create, start, stop, delete, errors and version locking", function () {
  this.timeout(120_000);
  let t: TestHub;
  let clock: ManualClock;
  let reconciler: InstanceReconciler;
  let alice: TestUser, bob: TestUser;
  const tokens = new Map<string, string>();
  let imageId = "";
  let v1 = "";
  let pool: { poolId: string; dataCenterId: string };
  let machineId = "";
  const knex = () => t.hub.db.knex;
  const as = (u: TestUser) => t.client(InstanceService, tokens.get(u.username)!);

  before(async () => {
    clock = new ManualClock();
    t = await startTestHub({ clock });
    const people = new CatalogPeople(knex());
    const a = await people.tenant("tenant-a");
    alice = await people.user("alice", "user", a);
    bob = await people.user("bob", "user", a);
    for (const u of [alice, bob]) tokens.set(u.username, await t.login(u.username, PASSWORD, u.tenantName));
    const images = t.client(ImageService, await t.adminToken());
    const img = await images.createImage({
      image: {
        name: "tiny",
        imageType: ImageType.OS_BASE,
        baseOs: "linux",
        architecture: ImageArchitecture.X86_64,
        visibility: ImageVisibility.PUBLIC,
      },
      requirements: {
        minCpuCores: 1,
        minMemoryGb: 1,
        minStorageGb: 1,
        recommendedCpuCores: 2,
        recommendedMemoryGb: 2,
        recommendedStorageGb: 10,
      },
    });
    imageId = img.image!.id;
    v1 = (await images.publishImageVersion({ imageId, versionNumber: "v1.0.0" })).version!.id;
    pool = await seedPool(knex());
    machineId = (await seedMachines(knex(), pool, 1, { cpuCores: 8, memoryGb: 16, storageGb: 100 }))[0]!;
    reconciler = new InstanceReconciler({
      knex: knex(),
      clock,
      log: pino({ level: "silent" }),
      placement: { releaseAllocation },
      lockKey: ADVISORY_LOCK_KEYS.instanceReconciler,
      intervalMs: 3_600_000,
      graphicsListen: "127.0.0.1",
      shutdownTimeoutMs: 1000,
    });
    (globalThis as { images?: typeof images }).images = images;
  });
  after(async () => {
    await reconciler?.stop();
    await t?.stop();
  });

  const create1 = (over: Record<string, unknown> = {}) =>
    as(alice).createInstance({
      instance: { name: "desk", cpuCores: 2, memoryGb: 2, storageGb: 10, ...over },
      imageId,
    });

  /** Plays the compute agent: answers every unfinished command with the domain state the step implies. */
  async function agentAnswers(outcome: "succeed" | "fail" = "succeed"): Promise<string[]> {
    const rows = (await knex()("agent_commands as c")
      .join("agents as a", "a.id", "c.agent_id")
      .where("a.status", "connected") // an offline agent answers nothing
      .whereIn("c.state", ["queued", "delivered"])
      .orderBy("c.created_at")
      .select("c.id", "c.agent_id", "c.kind", "c.payload")) as {
      id: string;
      agent_id: string;
      kind: string;
      payload: Record<string, { name?: string; spec?: { name: string; uuid: string } }>;
    }[];
    for (const r of rows) {
      await markDelivered(knex(), [r.id], clock.now());
      const body = Object.values(r.payload)[0] ?? {};
      const name = body.spec?.name ?? body.name ?? "";
      const state = {
        define_domain: DomainState.SHUTOFF,
        start_domain: DomainState.RUNNING,
        shutdown_domain: DomainState.SHUTOFF,
        undefine_domain: DomainState.ABSENT,
        suspend_domain: DomainState.PAUSED,
        resume_domain: DomainState.RUNNING,
        set_graphics_password: DomainState.RUNNING,
      }[r.kind];
      const result =
        r.kind === "list_domains"
          ? create(CommandResultSchema, { kind: { case: "domains", value: { domains: [] } } })
          : create(CommandResultSchema, {
              kind: {
                case: "domain",
                value: {
                  name,
                  uuid: name.replace(/^edgehub-/, ""),
                  state,
                  graphicsProtocol: GraphicsProtocol.VNC,
                  graphicsHost: "127.0.0.1",
                  graphicsPort: state === DomainState.RUNNING ? 5901 : 0,
                },
              },
            });
      await applyAgentReport(
        knex(),
        r.agent_id,
        r.id,
        outcome === "succeed"
          ? { state: "succeeded", result: toJson(CommandResultSchema, result), error: null }
          : { state: "failed", result: undefined, error: "libvirt: no space left on device" },
        clock.now(),
      );
    }
    return rows.map((r) => r.kind);
  }

  /**
   * Passes of the reconciler, the agent answering in between, until the instance reaches `status`
   * (or is gone, for "deleted"). The hub's own reconciler may take a pass meanwhile (it holds the
   * lease then, and ours skips): the loop is bounded by passes, not by time.
   */
  async function converge(id: string, status: InstanceStatus): Promise<string[]> {
    const kinds: string[] = [];
    for (let i = 0; i < 200; i++) {
      await reconciler.runOnce();
      kinds.push(...(await agentAnswers()));
      const row = (await knex()("instances").where({ id }).first("status")) as { status: string };
      if (row.status === InstanceStatus[status].toLowerCase()) return kinds;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`instance ${id} did not reach ${InstanceStatus[status]}; commands answered: ${kinds.join(", ")}`);
  }

  const allocated = async () =>
    (await knex()("compute_machines")
      .where({ id: machineId })
      .first("allocated_cpu_cores", "allocated_memory_gb", "allocated_storage_gb")) as Record<string, number>;

  it("creates a stopped instance with nothing allocated, locked to the version latest pointed at", async () => {
    const { instance } = await create1();
    expect(instance!.status).to.equal(InstanceStatus.STOPPED);
    expect(instance!.imageVersionId).to.equal(v1);
    expect(instance!.imageTagUsed).to.equal("latest");
    expect(instance!.computeMachineId).to.equal("");
    expect(Number((await allocated()).allocated_cpu_cores)).to.equal(0);
    const audit = await knex()("audit_log")
      .where({ action: "instance.create", target_id: instance!.id })
      .count<{ n: number }[]>({ n: "*" });
    expect(Number(audit[0]!.n)).to.equal(1);
  });

  it("moving latest after create changes nothing that exists (version locking)", async () => {
    const { instance } = await create1({ name: "locked" });
    const images = (globalThis as { images?: ReturnType<TestHub["client"]> }).images as unknown as {
      publishImageVersion: (r: object) => Promise<{ version?: { id: string } }>;
    };
    const v2 = (await images.publishImageVersion({ imageId, versionNumber: "v2.0.0", makeLatest: true })).version!.id;
    const again = await as(alice).getInstance({ id: instance!.id });
    expect(again.instance!.imageVersionId).to.equal(v1);
    const fresh = await create1({ name: "fresh" });
    expect(fresh.instance!.imageVersionId).to.equal(v2);
  });

  it("refuses zero CPUs, a spec below the image minimum (with the recommended spec) and another user's instance", async () => {
    const zero = await failure(create1({ cpuCores: 0 }));
    expect(zero.code).to.equal(Code.InvalidArgument);
    expect(violatedFields(zero)).to.deep.equal(["instance.cpu_cores"]);
    await knex()("image_requirements")
      .where({ image_id: imageId })
      .update({ min_memory_gb: 4, recommended_memory_gb: 8 });
    const short = await failure(create1({ memoryGb: 2 }));
    expect(short.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(short)).to.include("IMAGE_REQUIREMENTS_NOT_MET");
    expect(short.rawMessage).to.contain("recommended 8");
    await knex()("image_requirements")
      .where({ image_id: imageId })
      .update({ min_memory_gb: 1, recommended_memory_gb: 2 });
    const { instance } = await create1({ name: "mine" });
    expect((await failure(as(bob).getInstance({ id: instance!.id }))).code).to.equal(Code.NotFound);
  });

  it("refuses an unknown pool and a GPU model nobody has, precisely, with nothing allocated", async () => {
    const { instance } = await create1({ name: "nowhere" });
    const before = await counts(knex(), ["virtual_machines", "machine_allocations"]);
    const unknown = await failure(
      as(alice).startInstance({ id: instance!.id, computePoolId: "0193a0f0-0000-7000-8000-000000000000" }),
    );
    expect(unknown.code).to.equal(Code.NotFound);
    expect(unknown.rawMessage).to.contain("compute pool");
    const gpu = await create1({ name: "gpu", gpuCount: 1, gpuModel: "NVIDIA H200" });
    const none = await failure(as(alice).startInstance({ id: gpu.instance!.id, computePoolId: pool.poolId }));
    expect(none.code).to.equal(Code.ResourceExhausted);
    expect(errorReasons(none)).to.include("NO_CAPACITY");
    expect((await as(alice).getInstance({ id: gpu.instance!.id })).instance!.status).to.equal(InstanceStatus.STOPPED);
    expect(await counts(knex(), ["virtual_machines", "machine_allocations"])).to.deep.equal(before);
    expect(Number((await allocated()).allocated_cpu_cores)).to.equal(0);
    const events = await as(alice).listInstanceEvents({ instanceId: gpu.instance!.id });
    expect(events.events.map((e) => e.kind)).to.include("placement_failed");
  });

  it("start → running only on the agent's report → stop → delete, machine allocations back to zero", async () => {
    const { instance } = await create1({ name: "full-cycle" });
    const id = instance!.id;
    const started = await as(alice).startInstance({ id, computePoolId: pool.poolId, rentalMode: RentalMode.SHARED });
    expect(started.instance!.status).to.equal(InstanceStatus.INITIALIZING);
    expect(started.schedulingHistoryId).to.not.equal("");
    expect(Number((await allocated()).allocated_cpu_cores)).to.equal(2);
    expect(await converge(id, InstanceStatus.RUNNING)).to.include.members(["define_domain", "start_domain"]);
    const running = (await as(alice).getInstance({ id })).instance!;
    expect(running.status).to.equal(InstanceStatus.RUNNING);
    expect(running.virtualMachine!.vmName).to.equal(`edgehub-${running.virtualMachineId}`);

    const illegal = await failure(as(alice).resizeInstance({ id, cpuCores: 4 }));
    expect(errorReasons(illegal)).to.include("INSTANCE_NOT_STOPPED");
    const again = await failure(as(alice).startInstance({ id, computePoolId: pool.poolId }));
    expect(errorReasons(again)).to.include("ILLEGAL_INSTANCE_TRANSITION");

    expect((await as(alice).stopInstance({ id })).instance!.status).to.equal(InstanceStatus.STOPPING);
    expect(await converge(id, InstanceStatus.STOPPED)).to.include("shutdown_domain");
    const stopped = (await as(alice).getInstance({ id })).instance!;
    expect(stopped.status).to.equal(InstanceStatus.STOPPED);
    expect(stopped.computeMachineId).to.equal("");
    expect(Number((await allocated()).allocated_cpu_cores)).to.equal(0);

    expect((await as(alice).deleteInstance({ id })).instance!.status).to.equal(InstanceStatus.TERMINATING);
    expect(await converge(id, InstanceStatus.DELETED)).to.include("undefine_domain");
    expect((await failure(as(alice).getInstance({ id }))).code).to.equal(Code.NotFound);
    const a = await allocated();
    expect([
      Number(a.allocated_cpu_cores),
      Number(a.allocated_memory_gb),
      Number(a.allocated_storage_gb),
    ]).to.deep.equal([0, 0, 0]);
    const kinds = (await knex()("instance_events")
      .where({ instance_id: id })
      .orderBy("id")
      .pluck("message")) as string[];
    expect(kinds.join("\n")).to.contain("running").and.to.contain("deleted");
  });

  it("an offline agent makes a start wait, then fail at its deadline with a readable reason", async () => {
    const { instance } = await create1({ name: "offline" });
    const id = instance!.id;
    await as(alice).startInstance({ id, computePoolId: pool.poolId });
    const agentId = (
      (await knex()("compute_machines").where({ id: machineId }).first("agent_id")) as { agent_id: string }
    ).agent_id;
    await knex()("agents").where({ id: agentId }).update({ status: "offline", disconnected_at: clock.now() });
    await reconciler.runOnce();
    expect((await as(alice).getInstance({ id })).instance!.status).to.equal(InstanceStatus.INITIALIZING);
    clock.advance(11 * 60_000);
    await converge(id, InstanceStatus.STOPPED);
    const failed = (await as(alice).getInstance({ id })).instance!;
    expect(failed.status).to.equal(InstanceStatus.STOPPED);
    expect(failed.lastError).to.match(/agent is offline since/);
    expect(Number((await allocated()).allocated_cpu_cores)).to.equal(0);
    await knex()("agents").where({ id: agentId }).update({ status: "connected" });
  });

  it("resize while stopped re-checks quota: above the user's limit is resource_exhausted, nothing changed", async () => {
    const { instance } = await create1({ name: "resize" });
    await knex()("users")
      .where({ id: alice.userId })
      .update({ quota_config: JSON.stringify({ max_storage_gb: 1000, max_cpu_cores: 100 }) });
    const bigger = await as(alice).resizeInstance({ id: instance!.id, cpuCores: 4, storageGb: 20 });
    expect(bigger.instance!.cpuCores).to.equal(4);
    const over = await failure(as(alice).resizeInstance({ id: instance!.id, storageGb: 5000 }));
    expect(over.code).to.equal(Code.ResourceExhausted);
    expect(errorReasons(over)).to.include("QUOTA_EXCEEDED");
    expect((await as(alice).getInstance({ id: instance!.id })).instance!.storageGb).to.equal(20);
    const shrink = await failure(as(alice).resizeInstance({ id: instance!.id, storageGb: 10 }));
    expect(errorReasons(shrink)).to.include("STORAGE_SHRINK");
  });
});
