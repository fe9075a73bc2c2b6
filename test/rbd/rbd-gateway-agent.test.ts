import { expect } from "chai";
import { AgentStatus, CommandState, FleetService, type AgentCommand } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import type { CommandPayload } from "../../gen/edgehub/common/v1/command_pb.js";
import { disposeAgents, spawnAgent, waitFor, type AgentProcess } from "../fleet/support/agent-process.js";
import { createSite, mintToken } from "../fleet/support/fleet-fixtures.js";
import {
  CEPH_POOLS,
  plainCluster as P,
  rbdInfo,
  rbdPurge,
  requireCeph,
  uniqueImageName,
} from "../support/ceph-backends.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { cmd, MiB } from "./rbd-fixtures.js";

// The whole path once: a real agent process enrolled as ceph_gateway, commands enqueued through
// a real hub's FleetService, run on the real plain cluster, results back in the hub.

describe("ceph_gateway agent process through a real hub (real Ceph)", function () {
  let t: TestHub;
  let agent: AgentProcess | undefined;
  let agentId = "";
  const image = uniqueImageName("e2e");
  const POOL = CEPH_POOLS.standard;

  before(async function () {
    await requireCeph(this, P, "ceph_gateway agent end to end");
    t = await startTestHub();
    const site = await createSite(t, "ceph");
    agent = spawnAgent({
      hub: `127.0.0.1:${t.hub.grpcPort}`,
      joinToken: await mintToken(t, site, { role: AgentRole.CEPH_GATEWAY }),
      role: "ceph_gateway",
      hostname: "ceph-gw-1",
      extraArgs: ["--ceph-conf", P.conf, "--ceph-user", P.user, "--ceph-timeout", "10"],
    });
    const fleet = t.client(FleetService, await t.adminToken());
    agentId = await waitFor(
      "the ceph_gateway agent to connect",
      async () =>
        (await fleet.listAgents({ role: AgentRole.CEPH_GATEWAY })).agents.find(
          (a) => a.status === AgentStatus.CONNECTED,
        )?.id,
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent?.output().slice(-3000)}`);
    });
  });
  after(async () => {
    if (agent) await disposeAgents([agent]);
    await t?.stop();
    await rbdPurge(P, POOL, image).catch(() => undefined);
  });

  async function runToEnd(payload: CommandPayload): Promise<AgentCommand> {
    const fleet = t.client(FleetService, await t.adminToken());
    const { command } = await fleet.runDiagnostic({ agentId, payload, deadlineSeconds: 60 });
    return waitFor(`${payload.kind.case} to finish`, async () => {
      const { command: c } = await fleet.getCommand({ id: command!.id });
      return c && (c.state === CommandState.SUCCEEDED || c.state === CommandState.FAILED) ? c : undefined;
    });
  }

  it("creates and resizes an image on the agent's cluster, and reports refusals as failed commands", async () => {
    const created = await runToEnd(cmd("createRbdImage", { image: { pool: POOL, image }, sizeBytes: 4n * MiB }));
    expect(created.state, created.error).to.equal(CommandState.SUCCEEDED);
    expect(created.result?.kind.case).to.equal("rbdImage");
    expect(created.result?.kind.value).to.deep.include({ pool: POOL, image, exists: true, sizeBytes: 4n * MiB });
    expect((await rbdInfo(P, POOL, image))?.size).to.equal(4 * 1024 * 1024);

    const shrink = await runToEnd(cmd("resizeRbdImage", { image: { pool: POOL, image }, sizeBytes: MiB }));
    expect(shrink.state).to.equal(CommandState.FAILED);
    expect(shrink.error).to.match(/shrinking from 4194304 to 1048576 bytes is refused/);

    const pools = await runToEnd(cmd("listRbdPools", {}));
    expect(pools.state, pools.error).to.equal(CommandState.SUCCEEDED);
    const list = pools.result?.kind.case === "rbdPools" ? pools.result.kind.value : undefined;
    expect(list?.pools.map((p) => p.name)).to.include(POOL);
    expect(list?.cluster?.monHosts).to.deep.equal([P.monHost]);

    const removed = await runToEnd(cmd("removeRbdImage", { image: { pool: POOL, image }, removeSnapshots: true }));
    expect(removed.state, removed.error).to.equal(CommandState.SUCCEEDED);
    expect(await rbdInfo(P, POOL, image)).to.equal(undefined);
  });
});
