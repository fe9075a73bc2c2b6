import { expect } from "chai";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { waitFor } from "../fleet/support/agent-process.js";
import { spawnHub, type HubProcess } from "../support/hub-process.js";

const PASSWORD = "process-test-password";

async function login(port: number, password = PASSWORD): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/edgehub.admin.v1.AuthService/Login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password }),
  });
}

/**
 * A Login over a raw HTTP/1.1 connection in two parts: the headers with `Expect: 100-continue`
 * (resolves once the hub has accepted the call and answered 100 Continue), then the body.
 */
async function loginInTwoParts(port: number): Promise<{ sendBody: () => Promise<{ status: number; body: string }> }> {
  const body = JSON.stringify({ username: "admin", password: PASSWORD });
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  const ended = new Promise<string>((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
    socket.on("end", () => resolve(received));
    socket.on("error", reject);
  });
  socket.write(
    [
      "POST /edgehub.admin.v1.AuthService/Login HTTP/1.1",
      "Host: 127.0.0.1",
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(body)}`,
      "Expect: 100-continue",
      "Connection: close",
      "",
      "",
    ].join("\r\n"),
  );
  const deadline = Date.now() + 10_000;
  while (!received.startsWith("HTTP/1.1 100 Continue\r\n\r\n")) {
    if (Date.now() > deadline) throw new Error(`No 100 Continue from the hub: ${JSON.stringify(received)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    async sendBody() {
      socket.write(body);
      const raw = (await ended).slice("HTTP/1.1 100 Continue\r\n\r\n".length);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
      const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
      const rest = raw.slice(head.length + 4);
      // Connection: close without a length may come chunked; a Login answer is one small chunk.
      const text = /transfer-encoding: chunked/i.test(head)
        ? rest
            .split("\r\n")
            .filter((_, i) => i % 2 === 1)
            .join("")
        : rest;
      return { status, body: text };
    },
  };
}

/** Checks every line is a comment or `name{labels} value`, the Prometheus text format. */
function assertPrometheusText(text: string): void {
  const sample =
    /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?([0-9.e+-]+|NaN|\+Inf|-Inf)( [0-9]+)?$/;
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  expect(lines.length).to.be.greaterThan(10);
  for (const line of lines) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    expect(line, `metrics line: ${line}`).to.match(sample);
  }
}

describe("hub process (PGlite data directory)", function () {
  let dataDir: string;
  let hub: HubProcess | undefined;
  const args = () => ["--data-dir", dataDir, "--host", "127.0.0.1", "--http-port", "0", "--grpc-port", "0"];

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-process-"));
  });
  afterEach(async () => {
    if (hub && hub.proc.exitCode === null && hub.proc.signalCode === null) await hub.signal("SIGKILL");
    hub = undefined;
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("first start creates the data directory, the CA file and the admin; serves healthz, login and metrics", async () => {
    hub = await spawnHub({ args: args(), env: { HUB_ADMIN_PASSWORD: PASSWORD } });
    expect(fs.existsSync(path.join(dataDir, "pglite"))).to.equal(true);
    expect(fs.readFileSync(path.join(dataDir, "pki", "hub-ca.crt"), "utf8")).to.contain("BEGIN CERTIFICATE");

    const health = await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`);
    expect(health.status).to.equal(200);
    const res = await login(hub.httpPort);
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { token: string; expireTime: string };
    expect(body.token).to.match(/^ehb_/);
    expect(Date.parse(body.expireTime)).to.be.greaterThan(Date.now());

    // /metrics has a listener of its own; the admin port does not serve it (security #10).
    expect((await fetch(`http://127.0.0.1:${hub.httpPort}/metrics`)).status).to.equal(404);
    const metrics = await fetch(`http://127.0.0.1:${hub.metricsPort}/metrics`);
    expect(metrics.headers.get("content-type")).to.contain("text/plain");
    const text = await metrics.text();
    assertPrometheusText(text);
    expect(text).to.match(
      /edgehub_api_request_duration_seconds_count\{method="edgehub.admin.v1.AuthService\/Login",code="ok"\} 1/,
    );
  });

  it("SIGTERM finishes an in-flight call, then exits 0 well within 10 s", async () => {
    hub = await spawnHub({ args: args() });
    // The hub has the call once it answers "100 Continue" to its headers; the body follows the signal.
    const call = await loginInTwoParts(hub.httpPort);
    const exit = hub.signal("SIGTERM");
    const h = hub;
    await waitFor(
      "the hub to take the signal",
      () => h.output().includes("Signal received, shutting down"),
      30_000,
      10,
    );
    const res = await call.sendBody();
    expect(res.status).to.equal(200);
    expect(JSON.parse(res.body)).to.have.property("token").that.is.a("string");
    const { code, ms } = await exit;
    expect(code).to.equal(0);
    expect(ms).to.be.lessThan(10_000);
    expect(hub.output()).to.contain("Hub stopped");
  });

  it("a restart keeps the data: the token issued before still works, and no new admin is made", async () => {
    hub = await spawnHub({ args: args() });
    const token = ((await (await login(hub.httpPort)).json()) as { token: string }).token;
    expect((await hub.signal("SIGTERM")).code).to.equal(0);

    hub = await spawnHub({ args: args(), env: { HUB_ADMIN_PASSWORD: "a-different-password" } });
    expect(hub.output()).not.to.contain("First start");
    const me = await fetch(`http://127.0.0.1:${hub.httpPort}/edgehub.admin.v1.AuthService/WhoAmI`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: "{}",
    });
    expect(me.status).to.equal(200);
    // The first password still holds; the new env var does not reset it.
    expect((await login(hub.httpPort, "a-different-password")).status).to.equal(401);
  });

  it("refuses a second hub on the same data directory", async () => {
    hub = await spawnHub({ args: args() });
    let error: Error | undefined;
    try {
      const second = await spawnHub({ args: args() });
      await second.signal("SIGKILL");
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.contain("held by running process");
  });

  it("generates and prints the admin password once when none is given", async () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-fresh-"));
    try {
      hub = await spawnHub({
        args: ["--data-dir", fresh, "--host", "127.0.0.1", "--http-port", "0", "--grpc-port", "0"],
        env: { HUB_ADMIN_PASSWORD: undefined },
      });
      const m = /created user "admin" with password (\S+)/.exec(hub.output());
      expect(m, hub.output()).to.not.equal(null);
      expect((await login(hub.httpPort, m![1]!)).status).to.equal(200);
      await hub.signal("SIGTERM");
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });
});
