import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Client } from "@connectrpc/connect";
import { AgentStatus, CommandState, type FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { echo } from "./support/fleet-fixtures.js";
import { spawnHub, type HubProcess } from "../support/hub-process.js";
import { createScratchPostgres, selectedBackend } from "../support/test-database.js";
import { spawnAgent, waitFor, type AgentProcess } from "./support/agent-process.js";
import { fleetClientFor, freePort, inParallel } from "./support/hub-admin.js";

const PASSWORD = "crash-test-password";
const TOTAL = 1000;
const BEFORE_KILL = 600;

describe("durable commands across a hub crash (real hub and agent processes)", function () {
  this.timeout(600_000);
  let dataDir: string;
  let countFile: string;
  let scratch: { url: string; drop(): Promise<void> } | undefined;
  let hub: HubProcess | undefined;
  let agent: AgentProcess | undefined;
  let grpcPort: number;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-crash-"));
    countFile = path.join(dataDir, "executions.txt");
    if (selectedBackend() === "postgres") scratch = await createScratchPostgres({ migrated: true });
    grpcPort = await freePort();
  });
  after(async () => {
    await agent?.dispose();
    if (hub && hub.proc.exitCode === null && hub.proc.signalCode === null) await hub.signal("SIGKILL");
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const startHub = () =>
    spawnHub({
      args: [
        "--data-dir",
        path.join(dataDir, "hub"),
        "--host",
        "127.0.0.1",
        "--http-port",
        "0",
        "--grpc-port",
        String(grpcPort),
        "--heartbeat-interval",
        "500",
        "--restart-grace",
        "5000",
        "--drain-spread",
        "1500",
      ],
      env: { HUB_ADMIN_PASSWORD: PASSWORD, HUB_LOG_LEVEL: "info", ...(scratch ? { DATABASE_URL: scratch.url } : {}) },
    });

  const executions = () =>
    fs.existsSync(countFile) ? fs.readFileSync(countFile, "utf8").split("\n").filter(Boolean) : [];

  async function queue(
    client: Client<typeof FleetService>,
    agentId: string,
    from: number,
    to: number,
  ): Promise<string[]> {
    const indexes = Array.from({ length: to - from }, (_, i) => from + i);
    return inParallel(indexes, 8, async (i) => {
      // The idempotency key makes a retried create safe; each command is its own key.
      const { command } = await client.runDiagnostic({
        agentId,
        payload: echo(`count ${i}`),
        idempotencyKey: `crash-${i}`,
        deadlineSeconds: 600,
      });
      return command!.id;
    });
  }

  it("runs every one of 1 000 commands exactly once although the hub is SIGKILLed in the middle", async () => {
    hub = await startHub();
    let client = await fleetClientFor(hub.httpPort, PASSWORD);
    const edgeDataCenterId = (await client.createEdgeDataCenter({ edgeDataCenter: { name: "crash-dc" } }))
      .edgeDataCenter!.id;
    const computePoolId = (await client.createComputePool({ computePool: { name: "crash-pool" } })).computePool!.id;
    const { token } = await client.createJoinToken({
      role: AgentRole.COMPUTE,
      edgeDataCenterId,
      computePoolId,
      maxUses: 1,
      ttlSeconds: 600,
    });
    agent = spawnAgent({
      hub: `127.0.0.1:${grpcPort}`,
      joinToken: token,
      hostname: "crash-node",
      env: { EDGEHUB_AGENT_TEST_COUNT_FILE: countFile },
    });
    const agentId = await waitFor("the agent to connect", async () => {
      const { agents } = await client.listAgents({});
      return agents[0]?.status === AgentStatus.CONNECTED ? agents[0].id : undefined;
    });

    const ids = await queue(client, agentId, 0, BEFORE_KILL);
    await waitFor("some commands to run", () => executions().length >= 150, 180_000, 20);
    const killed = await hub.signal("SIGKILL");
    expect(killed.signal).to.equal("SIGKILL");
    const atKill = executions().length;

    hub = await startHub();
    client = await fleetClientFor(hub.httpPort, PASSWORD);
    ids.push(...(await queue(client, agentId, BEFORE_KILL, TOTAL)));
    expect(new Set(ids).size).to.equal(TOTAL);

    await waitFor(
      "all commands to succeed",
      async () => {
        const { commands } = await client.listCommands({ agentId, state: CommandState.SUCCEEDED, pageSize: 1000 });
        return commands.length === TOTAL;
      },
      300_000,
      250,
    );

    const { commands: finished } = await client.listCommands({
      agentId,
      state: CommandState.SUCCEEDED,
      pageSize: 1000,
    });
    const redelivered = finished.filter((c) => c.deliveryCount > 1).length;
    if (process.env.TEST_VERBOSE)
      process.stderr.write(`executed before the kill: ${atKill}; re-delivered after restart: ${redelivered}\n`);
    const ran = executions();
    const counts = new Map<string, number>();
    for (const id of ran) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    expect(twice, "commands executed more than once").to.deep.equal([]);
    expect(counts.size).to.equal(TOTAL);
    expect([...counts.keys()].sort()).to.deep.equal([...ids].sort());
    expect(atKill).to.be.lessThan(TOTAL);
    // The agent came back with its stored certificate: still one agent, never re-enrolled.
    const { agents } = await client.listAgents({});
    expect(agents.map((a) => a.id)).to.deep.equal([agentId]);
    expect(agent.output().split("Enrolled with the hub").length - 1).to.equal(1);
  });

  it("drains agents on a graceful stop; they come back to the restarted hub on their own", async () => {
    const stopped = await hub!.signal("SIGTERM");
    expect(stopped.code).to.equal(0);
    await waitFor("the agent to see Drain", () => agent!.output().includes("Hub asked us to drain"), 60_000, 20);
    hub = await startHub();
    // The stopping hub closed its sessions itself (in one transaction); a killed one leaves them to the next start.
    expect(hub.output()).not.to.contain("left behind");
    const client = await fleetClientFor(hub.httpPort, PASSWORD);
    await waitFor(
      "the agent back",
      async () => (await client.listAgents({})).agents[0]?.status === AgentStatus.CONNECTED,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${hub.metricsPort}/metrics`)).text();
    expect(metrics).to.match(/edgehub_agents_connected\{role="compute"\} 1/);
    expect(metrics).to.match(/edgehub_agent_stream_events_total\{event="open"\} \d+/);
  });

  it("enrolls an agent that boots while the hub is down once the hub is back", async () => {
    let client = await fleetClientFor(hub!.httpPort, PASSWORD);
    const { agents: before } = await client.listAgents({});
    const { edgeDataCenterId, computePoolId } = (await client.getAgent({ id: before[0]!.id })).agent!;
    const { token } = await client.createJoinToken({
      role: AgentRole.COMPUTE,
      edgeDataCenterId,
      computePoolId,
      maxUses: 1,
      ttlSeconds: 600,
    });
    expect((await hub!.signal("SIGTERM")).code).to.equal(0);
    const late = spawnAgent({ hub: `127.0.0.1:${grpcPort}`, joinToken: token, hostname: "early-bird" });
    try {
      await waitFor(
        "the agent to retry",
        () => late.output().includes("Cannot reach the hub to enroll; retrying"),
        60_000,
        20,
      );
      hub = await startHub();
      client = await fleetClientFor(hub.httpPort, PASSWORD);
      await waitFor(
        "early-bird connected",
        async () =>
          (await client.listAgents({})).agents.some(
            (a) => a.hostname === "early-bird" && a.status === AgentStatus.CONNECTED,
          ),
        60_000,
        200,
      );
    } finally {
      await late.dispose();
    }
  });
});
