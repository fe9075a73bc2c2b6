import { create, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import type { Knex } from "knex";
import pino from "pino";
import { ManualClock } from "../../lib/clock/clock.js";
import { ImageArchitecture, ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { InstanceService, InstanceStatus } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { CommandResultSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { DomainState, GraphicsProtocol, type DomainReportSchema } from "../../gen/edgehub/common/v1/compute_pb.js";
import { ADVISORY_LOCK_KEYS } from "../../hub/db/advisory-lock-keys.js";
import { applyAgentReport, markDelivered } from "../../hub/fleet/command-store.js";
import { InstanceReconciler } from "../../hub/instances/instance-reconciler.js";
import { releaseAllocation } from "../../hub/scheduler/release-allocation.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD, type TestUser } from "../catalog/catalog-fixtures.js";
import { seedMachines, seedPool } from "../scheduler/fleet-seed.js";

// A real hub (PGlite, or PostgreSQL with DATABASE_URL) with an image, a pool and one machine whose
// compute agent is played by the test through the real command store: it answers each queued
// command the way the contract says an agent does (a DomainReport), so the hub's reconciler is
// exercised step by step. test/instances/instance-agent.test.ts runs a real agent instead.

/** The domain state each command leaves behind, as a compute agent reports it. */
const STATE_AFTER: Record<string, DomainState> = {
  define_domain: DomainState.SHUTOFF,
  start_domain: DomainState.RUNNING,
  shutdown_domain: DomainState.SHUTOFF,
  undefine_domain: DomainState.ABSENT,
  suspend_domain: DomainState.PAUSED,
  resume_domain: DomainState.RUNNING,
  set_graphics_password: DomainState.RUNNING,
};

export interface AgentPlay {
  /** Fail every command with this error instead. */
  failWith?: string;
  /** Extra domains a list_domains answer reports (ones the hub may not know). */
  extraDomains?: MessageInitShape<typeof DomainReportSchema>[];
}

export class InstanceWorld {
  t!: TestHub;
  readonly clock = new ManualClock();
  reconciler!: InstanceReconciler;
  alice!: TestUser;
  bob!: TestUser;
  imageId = "";
  v1 = "";
  pool!: { poolId: string; dataCenterId: string };
  machineId = "";
  adminToken = "";
  private readonly tokens = new Map<string, string>();

  get knex(): Knex {
    return this.t.hub.db.knex;
  }

  async start(): Promise<void> {
    this.t = await startTestHub({ clock: this.clock });
    const people = new CatalogPeople(this.knex);
    const a = await people.tenant("tenant-a");
    this.alice = await people.user("alice", "user", a);
    this.bob = await people.user("bob", "user", a);
    for (const u of [this.alice, this.bob])
      this.tokens.set(u.username, await this.t.login(u.username, PASSWORD, u.tenantName));
    this.adminToken = await this.t.adminToken();
    const img = await this.images().createImage({
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
    this.imageId = img.image!.id;
    this.v1 = (await this.images().publishImageVersion({ imageId: this.imageId, versionNumber: "v1.0.0" })).version!.id;
    this.pool = await seedPool(this.knex);
    this.machineId = (await seedMachines(this.knex, this.pool, 1, { cpuCores: 8, memoryGb: 16, storageGb: 100 }))[0]!;
    // The test's own reconciler: passes run when the test says (the hub's own one may also take a pass).
    this.reconciler = new InstanceReconciler({
      knex: this.knex,
      clock: this.clock,
      log: pino({ level: "silent" }),
      placement: { releaseAllocation },
      lockKey: ADVISORY_LOCK_KEYS.instanceReconciler,
      intervalMs: 3_600_000,
      graphicsListen: "127.0.0.1",
      shutdownTimeoutMs: 1000,
    });
  }

  async stop(): Promise<void> {
    await this.reconciler?.stop();
    await this.t?.stop();
  }

  images() {
    return this.t.client(ImageService, this.adminToken);
  }

  as(u: TestUser) {
    return this.t.client(InstanceService, this.tokens.get(u.username)!);
  }

  create(over: Record<string, unknown> = {}, u: TestUser = this.alice) {
    return this.as(u).createInstance({
      instance: { name: "desk", cpuCores: 2, memoryGb: 2, storageGb: 10, ...over },
      imageId: this.imageId,
    });
  }

  async agentId(): Promise<string> {
    return (
      (await this.knex("compute_machines").where({ id: this.machineId }).first("agent_id")) as { agent_id: string }
    ).agent_id;
  }

  /** Plays the compute agent: answers every unfinished command of a connected agent; returns their kinds. */
  async agentAnswers(play: AgentPlay = {}): Promise<string[]> {
    const rows = (await this.knex("agent_commands as c")
      .join("agents as a", "a.id", "c.agent_id")
      .where("a.status", "connected") // an offline agent answers nothing
      .whereIn("c.state", ["queued", "delivered"])
      .orderBy("c.created_at")
      .select("c.id", "c.agent_id", "c.kind", "c.payload")) as {
      id: string;
      agent_id: string;
      kind: string;
      payload: Record<string, { name?: string; spec?: { name: string } }>;
    }[];
    for (const r of rows) {
      await markDelivered(this.knex, [r.id], this.clock.now());
      const body = Object.values(r.payload)[0] ?? {};
      const name = body.spec?.name ?? body.name ?? "";
      const result = r.kind === "list_domains" ? await this.listing(play) : this.report(name, STATE_AFTER[r.kind]!);
      await applyAgentReport(
        this.knex,
        r.agent_id,
        r.id,
        play.failWith
          ? { state: "failed", result: undefined, error: play.failWith }
          : { state: "succeeded", result: toJson(CommandResultSchema, result), error: null },
        this.clock.now(),
      );
    }
    return rows.map((r) => r.kind);
  }

  private report(name: string, state: DomainState) {
    return create(CommandResultSchema, {
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
  }

  /** The machine's live VMs as running domains, plus `extraDomains`. */
  private async listing(play: AgentPlay) {
    const vms = (await this.knex("virtual_machines").whereNull("deleted_at").pluck("id")) as string[];
    return create(CommandResultSchema, {
      kind: {
        case: "domains",
        value: {
          domains: [
            ...vms.map((id) => ({ name: `edgehub-${id}`, uuid: id, state: DomainState.RUNNING })),
            ...(play.extraDomains ?? []),
          ],
        },
      },
    });
  }

  /**
   * Passes of the reconciler, the agent answering in between, until the instance reaches `status`.
   * The hub's own reconciler may take a pass meanwhile (it holds the lease then, and ours skips):
   * the loop is bounded by passes, not by time.
   */
  async converge(id: string, status: InstanceStatus, play: AgentPlay = {}): Promise<string[]> {
    const kinds: string[] = [];
    for (let i = 0; i < 200; i++) {
      await this.reconciler.runOnce();
      kinds.push(...(await this.agentAnswers(play)));
      const row = (await this.knex("instances").where({ id }).first("status", "pending_action")) as {
        status: string;
        pending_action: string | null;
      };
      if (row.status === InstanceStatus[status].toLowerCase() && row.pending_action === null) return kinds;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`instance ${id} did not reach ${InstanceStatus[status]}; commands answered: ${kinds.join(", ")}`);
  }

  /** Reconciler passes (no agent answers) until `check` holds; bounded by passes, not time. */
  async passesUntil(what: string, check: () => Promise<unknown>): Promise<void> {
    for (let i = 0; i < 200; i++) {
      await this.reconciler.runOnce();
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`reconciler passes did not lead to ${what}`);
  }

  /** Passes until a command of `kind` is waiting for the agent. */
  queuedCommand(kind: string): Promise<void> {
    return this.passesUntil(`a queued ${kind}`, () =>
      this.knex("agent_commands").where({ kind, state: "queued" }).first("id"),
    );
  }

  async allocated(): Promise<number[]> {
    const row = (await this.knex("compute_machines")
      .where({ id: this.machineId })
      .first("allocated_cpu_cores", "allocated_memory_gb", "allocated_storage_gb")) as Record<string, number>;
    return [Number(row.allocated_cpu_cores), Number(row.allocated_memory_gb), Number(row.allocated_storage_gb)];
  }
}
