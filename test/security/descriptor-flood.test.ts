import { expect } from "chai";
import fs from "node:fs";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { AgentStatus } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { closed, rawSocket } from "../support/raw-socket.js";
import { spawnHub, type HubProcess } from "../support/hub-process.js";
import { disposeAgents, spawnAgent, waitFor, type AgentProcess } from "../fleet/support/agent-process.js";
import { fleetClientFor } from "../fleet/support/hub-admin.js";
import { MachineType } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";

const PASSWORD = "descriptor-flood-password";
/**
 * The hub needs ~250 descriptors of its own on a fresh PGlite (one file per relation while it
 * migrates, listeners) — more as tables are added; the flood alone would take 600.
 */
const NOFILE = 450;
const CAP = 40;
const FLOOD = 300;

describe("a flood of idle sockets under a low descriptor limit is shed on both ports (security #1)", function () {
  this.timeout(240_000);
  let hub: HubProcess;
  const agents: AgentProcess[] = [];
  const flood: net.Socket[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-fdflood-"));

  before(async () => {
    hub = await spawnHub({
      nofile: NOFILE,
      args: [
        "--data-dir",
        dataDir,
        "--host",
        "127.0.0.1",
        "--http-port",
        "0",
        "--grpc-port",
        "0",
        "--http-max-connections-per-address",
        String(CAP),
        "--agent-max-connections-per-address",
        String(CAP),
        // Long deadlines: only the caps may shed the flood while the checks below run.
        "--http-headers-timeout",
        "120000",
        "--agent-first-byte-timeout",
        "120000",
      ],
      env: { HUB_ADMIN_PASSWORD: PASSWORD },
    });
  });
  after(async () => {
    for (const s of flood) s.destroy();
    await disposeAgents(agents);
    await hub?.signal("SIGTERM");
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${FLOOD} idle sockets from one address on each port leave /healthz and a new agent's enrollment working`, async () => {
    // Timing comes from events: the flood is open (or shed) before anything else is asked.
    flood.push(...(await Promise.all(Array.from({ length: FLOOD }, () => rawSocket(hub.httpPort, "127.0.0.2")))));
    flood.push(...(await Promise.all(Array.from({ length: FLOOD }, () => rawSocket(hub.grpcPort, "127.0.0.3")))));
    // The hub closes everything above its caps at once: wait for those closes to reach us.
    await waitFor(
      "the flood above the caps shed",
      async () => flood.filter((s) => s.closed).length >= 2 * (FLOOD - CAP),
    );
    expect(flood.filter((s) => !s.closed).length, "the hub kept at most its caps of the flood").to.be.at.most(2 * CAP);

    const health = await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`);
    expect(health.status).to.equal(200);

    const fleet = await fleetClientFor(hub.httpPort, PASSWORD);
    const { edgeDataCenter } = await fleet.createEdgeDataCenter({ edgeDataCenter: { name: "flood-dc" } });
    const { computePool } = await fleet.createComputePool({ computePool: { name: "flood-pool" } });
    const { token } = await fleet.createJoinToken({
      role: AgentRole.COMPUTE,
      edgeDataCenterId: edgeDataCenter!.id,
      computePoolId: computePool!.id,
      maxUses: 1,
      ttlSeconds: 600,
      machineType: MachineType.UNSPECIFIED,
    });
    agents.push(
      spawnAgent({
        hub: `127.0.0.1:${hub.grpcPort}`,
        joinToken: token,
        hostname: "after-the-flood",
        extraArgs: ["--libvirt-uri", "test:///default"],
      }),
    );
    await waitFor("the new agent connected", async () =>
      (await fleet.listAgents({})).agents.some((a) => a.status === AgentStatus.CONNECTED),
    );
  });

  it("a silent socket on the agent port is closed at the first-byte deadline", async () => {
    const restarted = await spawnHub({
      args: [
        "--data-dir",
        fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-fdflood-b-")),
        "--host",
        "127.0.0.1",
        "--http-port",
        "0",
        "--grpc-port",
        "0",
        "--agent-first-byte-timeout",
        "800",
      ],
      env: { HUB_ADMIN_PASSWORD: PASSWORD },
    });
    try {
      await closed(await rawSocket(restarted.grpcPort, "127.0.0.4"));
    } finally {
      await restarted.signal("SIGTERM");
    }
  });
});
