import { expect } from "chai";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { AgentStatus, FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { alive, runNpm, type NpmScript } from "../support/npm-script.js";
import { waitFor } from "./support/agent-process.js";
import { createSite, mintToken } from "./support/fleet-fixtures.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// `npm run agent` as the README says, stopped by SIGTERM to the npm process: the agent must get
// the signal, close its session and exit, with nothing of the run left behind.
describe("npm run agent (the README's way to run an agent)", function () {
  let t: TestHub;
  let stateDir: string;
  let run: NpmScript | undefined;

  before(async function () {
    this.timeout(300_000);
    await promisify(execFile)("npm", ["run", "build", "--silent"], { cwd: ROOT });
    t = await startTestHub();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-npm-agent-"));
  });
  after(async () => {
    run?.killGroup();
    await t?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("stops the agent gracefully when the npm process gets SIGTERM, leaving no process behind", async () => {
    const token = await mintToken(t, await createSite(t));
    run = runNpm([
      "run",
      "agent",
      "--",
      "--hub",
      `127.0.0.1:${t.hub.grpcPort}`,
      "--join-token",
      token,
      "--state-dir",
      stateDir,
      "--hostname",
      "npm-agent",
      "--log-format",
      "json",
      "--no-metrics",
    ]);
    const r = run;
    const fleet = t.client(FleetService, await t.adminToken());
    const agentId = await waitFor(
      "npm-agent to connect",
      async () =>
        (await fleet.listAgents({})).agents.find(
          (a) => a.hostname === "npm-agent" && a.status === AgentStatus.CONNECTED,
        )?.id,
    ).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${r.output()}`)));
    const agentPid = (
      await waitFor("the agent to log its connection", () => r.logLines().find((l) => l.msg === "Connected to the hub"))
    ).pid as number;
    expect(agentPid).to.not.equal(r.pgid);

    r.proc.kill("SIGTERM");
    await waitFor(
      "every process of npm run agent to exit",
      () => r.groupMembers().length === 0 && !alive(agentPid),
      10_000,
      50,
    ).catch((err: Error) =>
      Promise.reject(new Error(`${err.message}: still alive ${JSON.stringify(r.groupMembers())}\n${r.output()}`)),
    );
    expect(r.logLines().map((l) => l.msg)).to.include("Signal received, stopping");
    expect(await r.exited).to.deep.equal({ code: 0, signal: null });
    // The agent said goodbye: its stream closed, so the hub marked it disconnected (not offline later).
    await waitFor(
      "the agent disconnected",
      async () => (await fleet.getAgent({ id: agentId })).agent!.status === AgentStatus.DISCONNECTED,
    );
  });
});
