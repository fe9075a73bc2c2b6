import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Client } from "@connectrpc/connect";
import { AgentStatus, CommandState, type FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { echo } from "./support/fleet-fixtures.js";
import { spawnHub, type HubProcess } from "../support/hub-process.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import { createScratchPostgres, postgresReachable, postgresServerDescription } from "../support/test-database.js";
import { disposeAgents, spawnAgent, waitFor, type AgentProcess } from "./support/agent-process.js";
import { fleetClientFor, freePort } from "./support/hub-admin.js";

const PASSWORD = "two-hubs-password";

describe("two hubs on one PostgreSQL (real processes)", function () {
  let scratch: { url: string; drop(): Promise<void> } | undefined;
  let dataDir: string;
  const hubs: HubProcess[] = [];
  const agents: AgentProcess[] = [];
  let a: HubProcess;
  let b: HubProcess;
  let client: Client<typeof FleetService>;
  let startHub: (name: string) => Promise<HubProcess>;

  before(async function () {
    skipUnlessBackend(this, await postgresReachable(), postgresServerDescription());
    scratch = await createScratchPostgres({ migrated: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-two-hubs-"));
    const start = async (name: string) => {
      const port = await freePort();
      const hub = await spawnHub({
        args: [
          "--data-dir",
          path.join(dataDir, name),
          "--host",
          "127.0.0.1",
          "--http-port",
          "0",
          "--grpc-port",
          String(port),
          "--hub-id",
          name,
          "--heartbeat-interval",
          "300",
          "--restart-grace",
          "0",
        ],
        env: { HUB_ADMIN_PASSWORD: PASSWORD, DATABASE_URL: scratch!.url },
      });
      hubs.push(hub);
      return hub;
    };
    startHub = start;
    [a, b] = [await start("hub-a"), await start("hub-b")];
    client = await fleetClientFor(a.httpPort, PASSWORD);
  });
  after(async () => {
    await disposeAgents(agents);
    for (const h of hubs) if (h.proc.exitCode === null && h.proc.signalCode === null) await h.signal("SIGKILL");
    await scratch?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const agentOn = async (hostname: string) => {
    const { agents: list } = await client.listAgents({});
    return list.find((x) => x.hostname === hostname);
  };
  const succeeded = async (ids: string[]) => {
    for (const id of ids)
      if ((await client.getCommand({ id: id })).command!.state !== CommandState.SUCCEEDED) return false;
    return true;
  };

  it("delivers a command created through hub A to an agent held by hub B; when B dies its agents move to A and finish their queued commands", async () => {
    const edgeDataCenterId = (await client.createEdgeDataCenter({ edgeDataCenter: { name: "two-hubs-dc" } }))
      .edgeDataCenter!.id;
    const computePoolId = (await client.createComputePool({ computePool: { name: "two-hubs-pool" } })).computePool!.id;
    const { token } = await client.createJoinToken({
      role: AgentRole.COMPUTE,
      edgeDataCenterId,
      computePoolId,
      maxUses: 2,
      ttlSeconds: 600,
    });
    const grpcA = `127.0.0.1:${a.grpcPort}`;
    const grpcB = `127.0.0.1:${b.grpcPort}`;
    // Both agents prefer B and know A as the site's other hub.
    for (const hostname of ["multi-1", "multi-2"])
      agents.push(spawnAgent({ hub: `${grpcB},${grpcA}`, joinToken: token, hostname }));
    const [m1, m2] = await Promise.all(
      ["multi-1", "multi-2"].map((h) =>
        waitFor(`${h} on hub B`, async () => {
          const x = await agentOn(h);
          return x?.status === AgentStatus.CONNECTED && x.hubId === "hub-b" ? x : undefined;
        }),
      ),
    );

    // Created through A (NOTIFY), delivered by B.
    const first = (await client.runDiagnostic({ agentId: m1!.id, payload: echo("via hub-a") })).command!;
    await waitFor("the command through A to succeed on B's agent", () => succeeded([first.id]));

    // Some work in flight on B, then B dies; more work is queued through A while agents reconnect.
    const inFlight = await Promise.all(
      [m1!, m2!].map(
        async (m) => (await client.runDiagnostic({ agentId: m.id, payload: echo("in flight", 1500) })).command!.id,
      ),
    );
    // Each delivered to its agent (a loaded machine may already have finished one: both running at
    // one poll would be a timing window, not an event).
    await waitFor("in-flight commands delivered", async () => {
      for (const id of inFlight)
        if (![CommandState.RUNNING, CommandState.SUCCEEDED].includes((await client.getCommand({ id })).command!.state))
          return false;
      return true;
    });
    await b.signal("SIGKILL");
    const queued: string[] = [];
    for (const m of [m1!, m2!]) {
      for (let i = 0; i < 10; i++)
        queued.push((await client.runDiagnostic({ agentId: m.id, payload: echo(String(i)) })).command!.id);
    }
    await waitFor("both agents on hub A", async () => {
      const [x, y] = await Promise.all([agentOn("multi-1"), agentOn("multi-2")]);
      return (
        x?.hubId === "hub-a" &&
        y?.hubId === "hub-a" &&
        x.status === AgentStatus.CONNECTED &&
        y.status === AgentStatus.CONNECTED
      );
    });
    await waitFor(
      "all queued and in-flight commands to succeed",
      () => succeeded([...inFlight, ...queued]),
      60_000,
      200,
    );
    const sessions = await client.listAgents({});
    expect(sessions.agents.map((x) => x.hubId)).to.deep.equal(["hub-a", "hub-a"]);
  });

  it("revokes through hub A an agent held by a restarted hub B: B's stream closes at once", async () => {
    b = await startHub("hub-b");
    const grpcB = `127.0.0.1:${b.grpcPort}`;
    const m1 = (await agentOn("multi-1"))!;
    const { token } = await client.createJoinToken({
      role: AgentRole.COMPUTE,
      edgeDataCenterId: m1.edgeDataCenterId,
      computePoolId: m1.computePoolId,
      maxUses: 1,
      ttlSeconds: 600,
    });
    const victim = spawnAgent({ hub: grpcB, joinToken: token, hostname: "multi-3" });
    agents.push(victim);
    const v = await waitFor("multi-3 on the new hub B", async () => {
      const x = await agentOn("multi-3");
      return x?.status === AgentStatus.CONNECTED && x.hubId === "hub-b" ? x : undefined;
    });
    await client.revokeAgent({ id: v.id, reason: "decommissioned" });
    expect((await victim.exited).code).to.equal(3);
    expect(victim.output()).to.contain("Agent certificate revoked");
    expect((await agentOn("multi-3"))!.status).to.equal(AgentStatus.REVOKED);
  });
});
