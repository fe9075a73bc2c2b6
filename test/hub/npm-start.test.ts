import { expect } from "chai";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { waitFor } from "../fleet/support/agent-process.js";
import { alive, runNpm, type NpmScript } from "../support/npm-script.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// `npm start` as the README says, stopped the way a supervisor or a backgrounded shell stops it:
// SIGTERM to the one pid it started. npm runs the script through `sh -c`; the hub must still get
// the signal, stop gracefully and leave nothing behind (ports, the data-directory lock).
describe("npm start (the README's way to run the hub)", function () {
  let dataDir: string;
  let run: NpmScript | undefined;

  before(async function () {
    // Build once up front (incremental: a no-op when dist/ is fresh), so the start below is the
    // "already built" start; the build's own cost is not this test's subject.
    this.timeout(300_000);
    await promisify(execFile)("npm", ["run", "build", "--silent"], { cwd: ROOT });
  });
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-npm-start-"));
  });
  afterEach(() => {
    run?.killGroup();
    run = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = () =>
    runNpm(
      [
        "start",
        "--",
        "--data-dir",
        dataDir,
        "--host",
        "127.0.0.1",
        "--http-port",
        "0",
        "--grpc-port",
        "0",
        "--log-format",
        "json",
      ],
      { HUB_ADMIN_PASSWORD: "npm-start-test-password", HUB_METRICS_LISTEN: "127.0.0.1:0" },
    );

  const running = async (r: NpmScript) => {
    const line = await waitFor(
      "the hub to log Hub running",
      () => r.logLines().find((l) => l.msg === "Hub running"),
      60_000,
      50,
    ).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${r.output()}`)));
    return { httpPort: line.httpPort as number, hubPid: line.pid as number };
  };

  it("stops the hub gracefully when the npm process gets SIGTERM, leaving no process behind", async () => {
    run = start();
    const { httpPort, hubPid } = await running(run);
    expect(hubPid, "the hub runs as a child, not as npm itself").to.not.equal(run.pgid);
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).to.equal(200);

    run.proc.kill("SIGTERM");
    const r = run;
    await waitFor(
      "every process of npm start to exit",
      () => r.groupMembers().length === 0 && !alive(hubPid),
      10_000,
      50,
    ).catch((err: Error) =>
      Promise.reject(new Error(`${err.message}: still alive ${JSON.stringify(r.groupMembers())}\n${r.output()}`)),
    );
    expect(run.logLines().map((l) => l.msg)).to.include.members(["Signal received, shutting down", "Hub stopped"]);
    expect(await run.exited).to.deep.equal({ code: 0, signal: null });

    // The data directory lock and the ports are free again: the next start succeeds.
    run = start();
    const again = await running(run);
    expect((await fetch(`http://127.0.0.1:${again.httpPort}/healthz`)).status).to.equal(200);
    run.proc.kill("SIGTERM");
    expect((await run.exited).code).to.equal(0);
  });
});
