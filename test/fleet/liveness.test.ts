import { expect } from "chai";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { AgentStatus, CommandState, FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { AgentMessageSchema } from "../../gen/edgehub/fleet/v1/agent_pb.js";
import { HubClient } from "../../lib/fleet-session/hub-client.js";
import { StateDir } from "../../lib/fleet-session/state-dir.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { disposeAgents, spawnAgent, waitFor, type AgentProcess } from "./support/agent-process.js";
import { createSite, echo, mintToken, type Site } from "./support/fleet-fixtures.js";

// One second: the threshold (three intervals) then outlasts a heartbeat delayed by a loaded machine.
const HEARTBEAT_MS = 1_000;

describe("Fleet liveness and revocation (real agent processes)", function () {
  let t: TestHub;
  let site: Site;
  let hub: string;
  const agents: AgentProcess[] = [];

  before(async () => {
    t = await startTestHub({ args: ["--heartbeat-interval", String(HEARTBEAT_MS), "--restart-grace", "0"] });
    site = await createSite(t);
    hub = `127.0.0.1:${t.hub.grpcPort}`;
  });
  after(async () => {
    await disposeAgents(agents);
    await t?.stop();
  });

  const fleet = async () => t.client(FleetService, await t.adminToken());
  const statusOf = async (agentId: string) => (await (await fleet()).getAgent({ id: agentId })).agent!.status;
  const offlineEventsOf = async (agentId: string) =>
    t.hub.db
      .knex("fleet_events")
      .where({ agent_id: agentId, kind: "agent_offline" })
      .orderBy([{ column: "occurred_at" }, { column: "id" }])
      .select<{ id: string; occurred_at: Date; machine_id: string | null }[]>("id", "occurred_at", "machine_id");
  const machineStatus = async (agentId: string) =>
    (await t.hub.db.knex("compute_machines").where({ agent_id: agentId }).first("status"))?.status as string;

  async function startConnected(
    hostname: string,
    stateDir?: string,
    joinToken?: string,
  ): Promise<{ proc: AgentProcess; agentId: string }> {
    const proc = spawnAgent({
      hub,
      joinToken: joinToken ?? (await mintToken(t, site)),
      hostname,
      ...(stateDir ? { stateDir } : {}),
    });
    agents.push(proc);
    const agentId = await waitFor(`${hostname} to connect`, async () => {
      const { agents: list } = await (await fleet()).listAgents({});
      const a = list.find((x) => x.hostname === hostname);
      return a?.status === AgentStatus.CONNECTED ? a.id : undefined;
    });
    return { proc, agentId };
  }

  it("marks a killed agent disconnected at once, offline (with its machine) after three intervals, and online again on restart without re-enrolling", async () => {
    const { proc, agentId } = await startConnected("live-1");
    const bystander = await startConnected("live-2");
    expect(await machineStatus(agentId)).to.equal("active");
    // Heartbeats reach the database through the batched flush.
    const first = (await (await fleet()).getAgent({ id: agentId })).agent!.lastHeartbeatTime!;
    await waitFor("a later flushed heartbeat", async () => {
      const later = (await (await fleet()).getAgent({ id: agentId })).agent!.lastHeartbeatTime!;
      return later.seconds > first.seconds || later.nanos > first.nanos;
    });

    // The clock of this test starts here, at the kill. On a loaded machine an agent can already have
    // been declared offline once before it first connected (enrolled, then slower to start than three
    // intervals) or while a heartbeat was late; those earlier events are not the ones under test.
    const earlier = (await offlineEventsOf(agentId)).map((e) => e.id);
    await proc.kill("SIGKILL");
    // The stream closing is enough: no heartbeat timeout is involved in "disconnected". On a busy
    // machine a poll can miss the short disconnected window, so the timestamps prove the order too.
    await waitFor(
      "disconnected",
      async () => [AgentStatus.DISCONNECTED, AgentStatus.OFFLINE].includes(await statusOf(agentId)),
      60_000,
      20,
    );
    await waitFor("offline", async () => (await statusOf(agentId)) === AgentStatus.OFFLINE, 30_000, 50);
    const marks = await t.hub.db.knex("agents").where({ id: agentId }).first("disconnected_at", "last_heartbeat_at");
    const offlineEvents = (await offlineEventsOf(agentId)).filter((e) => !earlier.includes(e.id));
    expect(offlineEvents, "one agent_offline after the kill").to.have.length(1);
    const offline = offlineEvents[0]!;
    expect(marks.disconnected_at, "disconnected before offline").to.be.instanceOf(Date);
    expect(new Date(marks.disconnected_at).getTime()).to.be.lessThan(new Date(offline.occurred_at).getTime());
    // Offline only after three intervals of silence (a rule, not a timing measurement).
    expect(new Date(offline.occurred_at).getTime() - new Date(marks.last_heartbeat_at).getTime()).to.be.at.least(
      3 * HEARTBEAT_MS,
    );
    expect(offline.machine_id).to.match(/^[0-9a-f-]{36}$/);
    expect(await machineStatus(agentId)).to.equal("offline");
    // The bystander keeps its stream; under load a late heartbeat may flap it offline and back, so
    // the test waits for it to be connected rather than reading its status once.
    await waitFor("the bystander connected", async () => (await statusOf(bystander.agentId)) === AgentStatus.CONNECTED);

    // Restart from the same state directory: no token, same identity.
    const again = spawnAgent({ hub, stateDir: proc.stateDir, hostname: "live-1" });
    agents.push(again);
    await waitFor("back online", async () => (await statusOf(agentId)) === AgentStatus.CONNECTED);
    expect(await machineStatus(agentId)).to.equal("active");
    expect(again.output()).not.to.contain("Enrolled with the hub");
    const { agents: list } = await (await fleet()).listAgents({});
    expect(list.filter((a) => a.hostname === "live-1")).to.have.length(1);
  });

  it("revokes an agent: its stream closes at once, it stops, and its certificate is refused afterwards", async () => {
    const { proc, agentId } = await startConnected("revoke-me");
    const bystander = await startConnected("keep-me");
    await (await fleet()).revokeAgent({ id: agentId, reason: "stolen disk" });
    const exit = await proc.exited;
    expect(exit.code).to.equal(3);
    expect(proc.output()).to.contain("Agent certificate revoked");
    expect(await statusOf(agentId)).to.equal(AgentStatus.REVOKED);
    expect(
      await t.hub.db.knex("fleet_events").where({ agent_id: agentId, kind: "agent_revoked" }).first("message"),
    ).to.deep.equal({ message: "Agent revoked by admin: stolen disk" });
    expect(await machineStatus(agentId)).to.equal("offline");
    // A reconnect with the revoked certificate is refused with a reason.
    const id = new StateDir(proc.stateDir).loadIdentity()!;
    const client = new HubClient(hub, id);
    try {
      const call = client.connect();
      call.write(create(AgentMessageSchema, { kind: { case: "hello", value: { agentId, role: AgentRole.COMPUTE } } }));
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        call.on("error", resolve);
        call.on("data", () => undefined);
      });
      expect(err.code).to.equal(grpc.status.PERMISSION_DENIED);
      expect(err.details).to.equal(`Agent stream refused: the certificate of agent ${agentId} was revoked`);
    } finally {
      client.close();
    }
    await waitFor("the bystander connected", async () => (await statusOf(bystander.agentId)) === AgentStatus.CONNECTED);
  });

  it("closes a revoked agent's stream even when the NOTIFY is lost", async () => {
    const { proc, agentId } = await startConnected("lost-notice");
    // What RevokeAgent writes, without its NOTIFY: the holder's session poll must notice.
    await t.hub.db.knex.transaction(async (trx) => {
      await trx("agents").where({ id: agentId }).update({ status: "revoked", revoked_at: new Date() });
      await trx("agent_sessions").where({ agent_id: agentId }).delete();
    });
    expect((await proc.exited).code).to.equal(3);
    expect(proc.output()).to.contain("Agent certificate revoked");
  });

  it("cancels queued and running commands and expires overdue ones", async () => {
    const { agentId } = await startConnected("cmd-node");
    const client = await fleet();
    const slow = (await client.runDiagnostic({ agentId, payload: echo("slow", 60_000) })).command!;
    await waitFor(
      "the slow command to run",
      async () => (await client.getCommand({ id: slow.id })).command!.state === CommandState.RUNNING,
    );
    const cancelled = await client.cancelCommand({ id: slow.id, reason: "changed my mind" });
    expect(cancelled.command!.state).to.equal(CommandState.CANCELLED);
    const expiring = (await client.runDiagnostic({ agentId, payload: echo("expiring", 60_000), deadlineSeconds: 1 }))
      .command!;
    await waitFor(
      "expiry",
      async () => (await client.getCommand({ id: expiring.id })).command!.state === CommandState.EXPIRED,
      60_000,
    );
    // The agent still answers afterwards, and the cancelled command's late result changed nothing.
    const quick = (await client.runDiagnostic({ agentId, payload: echo() })).command!;
    await waitFor(
      "a quick command",
      async () => (await client.getCommand({ id: quick.id })).command!.state === CommandState.SUCCEEDED,
    );
    expect((await client.getCommand({ id: slow.id })).command!.state).to.equal(CommandState.CANCELLED);
    // An idempotency key returns the same command.
    const a = (await client.runDiagnostic({ agentId, payload: echo(), idempotencyKey: "once" })).command!;
    const b = (await client.runDiagnostic({ agentId, payload: echo(), idempotencyKey: "once" })).command!;
    expect(b.id).to.equal(a.id);
  });
});
