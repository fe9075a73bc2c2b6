import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import pino from "pino";
import { InstanceStatus, RentalMode } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { DomainState } from "../../gen/edgehub/common/v1/compute_pb.js";
import { ADVISORY_LOCK_KEYS } from "../../hub/db/advisory-lock-keys.js";
import { applyDomainLifecycleEvent } from "../../hub/instances/domain-events.js";
import { InstanceReconciler } from "../../hub/instances/instance-reconciler.js";
import { releaseAllocation } from "../../hub/scheduler/release-allocation.js";
import { errorReasons } from "../support/api-conventions.js";
import { failure } from "../catalog/catalog-fixtures.js";
import { seedMachines, seedPool } from "../scheduler/fleet-seed.js";
import { InstanceWorld } from "./instance-fixtures.js";

describe("InstanceService: restart, suspend/resume, console, illegal verbs, agent events and hub restarts", function () {
  this.timeout(120_000);
  const w = new InstanceWorld();
  before(() => w.start());
  after(() => w.stop());

  /** A running instance of alice's. */
  async function running(name: string): Promise<string> {
    const { instance } = await w.create({ name });
    await w.as(w.alice).startInstance({ id: instance!.id, computePoolId: w.pool.poolId });
    await w.converge(instance!.id, InstanceStatus.RUNNING);
    return instance!.id;
  }
  const statusOf = async (id: string) => (await w.as(w.alice).getInstance({ id })).instance!.status;
  const stopAndDelete = async (id: string) => {
    await w.as(w.alice).stopInstance({ id });
    await w.converge(id, InstanceStatus.STOPPED);
    await w.as(w.alice).deleteInstance({ id });
    await w.converge(id, InstanceStatus.DELETED);
  };

  it("refuses every verb from a state that does not allow it, naming both states", async () => {
    const { instance } = await w.create({ name: "verbs" });
    const id = instance!.id;
    const cases: [string, () => Promise<unknown>, string][] = [
      ["stop", () => w.as(w.alice).stopInstance({ id }), "ILLEGAL_INSTANCE_TRANSITION"],
      ["suspend", () => w.as(w.alice).suspendInstance({ id }), "ILLEGAL_INSTANCE_TRANSITION"],
      ["resume", () => w.as(w.alice).resumeInstance({ id }), "ILLEGAL_INSTANCE_TRANSITION"],
      ["restart", () => w.as(w.alice).restartInstance({ id }), "INSTANCE_NOT_RUNNING"],
      ["console", () => w.as(w.alice).createConsoleTicket({ id }), "INSTANCE_NOT_RUNNING"],
    ];
    for (const [verb, call, reason] of cases) {
      const err = await failure(call());
      expect(err.code, verb).to.equal(Code.FailedPrecondition);
      expect(errorReasons(err), verb).to.deep.equal([reason]);
      expect(err.rawMessage, verb).to.contain("stopped");
    }
    const stop = await failure(w.as(w.alice).stopInstance({ id }));
    expect(stop.rawMessage).to.contain("cannot go from stopped to stopping");
    expect(await statusOf(id)).to.equal(InstanceStatus.STOPPED);

    const runningId = await running("verbs-running");
    const start = await failure(w.as(w.alice).startInstance({ id: runningId }));
    expect(start.rawMessage).to.contain("cannot go from running to initializing");
    const resume = await failure(w.as(w.alice).resumeInstance({ id: runningId }));
    expect(errorReasons(resume)).to.deep.equal(["ILLEGAL_INSTANCE_TRANSITION"]);
    const resize = await failure(w.as(w.alice).resizeInstance({ id: runningId, cpuCores: 3 }));
    expect(errorReasons(resize)).to.deep.equal(["INSTANCE_NOT_STOPPED"]);
    // Nothing of it is on any host: deleted at once.
    expect((await w.as(w.alice).deleteInstance({ id })).instance!.status).to.equal(InstanceStatus.DELETED);
    expect((await failure(w.as(w.alice).deleteInstance({ id }))).code).to.equal(Code.NotFound);
    await stopAndDelete(runningId);
  });

  it("restart shuts the domain down and starts it again; the instance stays running", async () => {
    const id = await running("restart");
    const res = await w.as(w.alice).restartInstance({ id });
    expect(res.instance!.status).to.equal(InstanceStatus.RUNNING);
    const kinds = await w.converge(id, InstanceStatus.RUNNING);
    expect(kinds).to.include.ordered.members(["shutdown_domain", "start_domain"]);
    expect((await w.as(w.alice).getInstance({ id })).instance!.virtualMachine!.status).to.equal(3 /* RUNNING */);
    await stopAndDelete(id);
  });

  it("suspend and resume move the instance only on the agent's report", async () => {
    const id = await running("pause");
    expect((await w.as(w.alice).suspendInstance({ id })).instance!.status).to.equal(InstanceStatus.RUNNING);
    expect(await w.converge(id, InstanceStatus.SUSPENDED)).to.include("suspend_domain");
    expect(await w.converge(id, InstanceStatus.SUSPENDED)).to.deep.equal([]);
    await w.as(w.alice).resumeInstance({ id });
    expect(await w.converge(id, InstanceStatus.RUNNING)).to.include("resume_domain");
    await stopAndDelete(id);
  });

  it("a console ticket sets a one-time password valid ≤ 60 s through the agent, audited without the password", async () => {
    const id = await running("console");
    let answering = true;
    const agent = (async () => {
      while (answering) {
        await w.agentAnswers();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const ticket = await w
      .as(w.alice)
      .createConsoleTicket({ id })
      .finally(() => (answering = false));
    await agent;
    expect(ticket.host).to.equal("127.0.0.1");
    expect(ticket.port).to.equal(5901);
    expect(ticket.password).to.have.length.at.least(8);
    const valid = Number(ticket.expireTime!.seconds) * 1000 - w.clock.now().getTime();
    expect(valid).to.be.greaterThan(0).and.at.most(60_000);
    const command = await w
      .knex("agent_commands")
      .where({ kind: "set_graphics_password" })
      .orderBy("created_at", "desc")
      .first("payload", "deadline");
    expect(new Date(command.deadline).getTime()).to.be.at.most(w.clock.now().getTime() + 60_000);
    const audit = await w
      .knex("audit_log")
      .where({ action: "instance.get_console", target_id: id })
      .select("after", "before");
    expect(audit).to.have.length(1);
    expect(JSON.stringify(audit)).to.not.contain(ticket.password);
    await stopAndDelete(id);
  });

  it("a failed define ends the start with the agent's error, allocation returned", async () => {
    const { instance } = await w.create({ name: "define-fails" });
    const id = instance!.id;
    await w.as(w.alice).startInstance({ id, computePoolId: w.pool.poolId });
    await w.converge(id, InstanceStatus.STOPPED, { failWith: "Cannot prepare the image: disk full" });
    const after = (await w.as(w.alice).getInstance({ id })).instance!;
    expect(after.lastError).to.contain("define of domain edgehub-").and.to.contain("disk full");
    expect(await w.allocated()).to.deep.equal([0, 0, 0]);
    // The domain is undefined where it may have been defined (a command that waits for the agent).
    const cleanup = await w.knex("agent_commands").where("idempotency_key", "like", "vm:%:cleanup:%").first("kind");
    expect(cleanup.kind).to.equal("undefine_domain");
  });

  it("a guest that powers itself off stops its instance (lifecycle event) and returns the allocation", async () => {
    const id = await running("poweroff");
    const vmId = (await w.as(w.alice).getInstance({ id })).instance!.virtualMachineId;
    const changed = await applyDomainLifecycleEvent(w.knex, {
      kind: "domain.lifecycle",
      attributes: { name: `edgehub-${vmId}`, uuid: vmId, state: "shutoff", event: "stopped/shutdown" },
      occurredAt: w.clock.now(),
    });
    expect(changed).to.equal(true);
    expect(await statusOf(id)).to.equal(InstanceStatus.STOPPING);
    await w.converge(id, InstanceStatus.STOPPED);
    expect(await w.allocated()).to.deep.equal([0, 0, 0]);
    const ignored = await applyDomainLifecycleEvent(w.knex, {
      kind: "domain.lifecycle",
      attributes: { uuid: "0193a0f0-0000-7000-8000-00000000dead", state: "running" },
      occurredAt: w.clock.now(),
    });
    expect(ignored).to.equal(false);
  });

  it("after an agent reconnects, its domains are listed: an unknown one is reported, never destroyed", async () => {
    const id = await running("listed");
    const agentId = await w.agentId();
    await w
      .knex("agent_sessions")
      .insert({
        agent_id: agentId,
        session_id: "0193a0f0-0000-7000-8000-00000000abcd",
        hub_id: "test",
        connected_at: w.clock.now(),
      })
      .onConflict("agent_id")
      .merge();
    const stranger = "0193a0f0-0000-7000-8000-00000000beef";
    await w.queuedCommand("list_domains");
    expect(
      await w.agentAnswers({
        extraDomains: [{ name: "someone-elses-vm", uuid: stranger, state: DomainState.RUNNING }],
      }),
    ).to.include("list_domains");
    await w.passesUntil("the listing read", () =>
      w.knex("fleet_events").where({ kind: "domain_listing_read" }).first(),
    );
    const events = await w
      .knex("fleet_events")
      .where({ kind: "unknown_domain" })
      .select("severity", "message", "details");
    expect(events).to.have.length(1);
    expect(events[0]).to.include({ severity: "warning" });
    expect(events[0].message).to.contain("someone-elses-vm");
    // Read once: another pass records nothing new, and nothing was sent to remove the stranger.
    await w.reconciler.runOnce();
    const again = await w
      .knex("fleet_events")
      .where({ kind: "unknown_domain" })
      .count<{ n: number | string }[]>({ n: "*" });
    expect(Number(again[0]!.n)).to.equal(1);
    const removals = await w
      .knex("agent_commands")
      .whereIn("kind", ["undefine_domain", "destroy_domain"])
      .whereRaw("payload::text like ?", [`%${stranger}%`]);
    expect(removals).to.deep.equal([]);
    expect(await statusOf(id)).to.equal(InstanceStatus.RUNNING);
    await stopAndDelete(id);
  });

  it("a hub that dies mid-start leaves the state in the database; the next hub converges with one define", async () => {
    const { instance } = await w.create({ name: "crash" });
    const id = instance!.id;
    await w.as(w.alice).startInstance({ id, computePoolId: w.pool.poolId });
    await w.queuedCommand("define_domain"); // then this "hub" is gone
    await w.reconciler.stop();
    w.reconciler = new InstanceReconciler({
      knex: w.knex,
      clock: w.clock,
      log: pino({ level: "silent" }),
      placement: { releaseAllocation },
      lockKey: ADVISORY_LOCK_KEYS.instanceReconciler,
      intervalMs: 3_600_000,
      graphicsListen: "127.0.0.1",
      shutdownTimeoutMs: 1000,
    });
    await w.reconciler.runOnce();
    await w.converge(id, InstanceStatus.RUNNING);
    const vmId = (await w.as(w.alice).getInstance({ id })).instance!.virtualMachineId;
    const defines = await w
      .knex("agent_commands")
      .where({ kind: "define_domain" })
      .where("idempotency_key", "like", `vm:${vmId}:%`);
    expect(defines).to.have.length(1);
    await stopAndDelete(id);
  });

  it("exclusive rental takes the whole machine for its one domain and gives it all back on stop", async () => {
    const pool = await seedPool(w.knex);
    const [machine] = await seedMachines(w.knex, pool, 1, {
      cpuCores: 4,
      memoryGb: 8,
      storageGb: 50,
      rentalMode: "exclusive",
    });
    const { instance } = await w.create({ name: "exclusive", cpuCores: 1, memoryGb: 1, storageGb: 1 });
    const id = instance!.id;
    const shared = await failure(w.as(w.alice).startInstance({ id, computePoolId: pool.poolId }));
    expect(errorReasons(shared)).to.deep.equal(["NO_CAPACITY"]);
    const res = await w.as(w.alice).startInstance({ id, computePoolId: pool.poolId, rentalMode: RentalMode.EXCLUSIVE });
    expect(res.instance).to.include({ rentalMode: RentalMode.EXCLUSIVE, computeMachineId: machine });
    const held = async () =>
      Object.values(
        (await w
          .knex("compute_machines")
          .where({ id: machine })
          .first("allocated_cpu_cores", "allocated_memory_gb")) as object,
      ).map(Number);
    expect(await held()).to.deep.equal([4, 8]);
    await w.converge(id, InstanceStatus.RUNNING);
    await w.as(w.alice).stopInstance({ id });
    await w.converge(id, InstanceStatus.STOPPED);
    expect(await held()).to.deep.equal([0, 0]);
  });
});
