import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { enrollAgent } from "../../lib/fleet-session/enroll-agent.js";
import { StateDir } from "../../lib/fleet-session/state-dir.js";
import { newId } from "../../hub/db/ids.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { createSite, type Site } from "./support/fleet-fixtures.js";

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

describe("FleetService", function () {
  let t: TestHub;
  let site: Site;
  const dirs: string[] = [];

  before(async () => {
    t = await startTestHub();
    site = await createSite(t);
  });
  after(async () => {
    await t?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const fleet = async () => t.client(FleetService, await t.adminToken());

  it("rejects bad join token requests with the field named, writing nothing", async () => {
    const client = await fleet();
    const base = { role: "compute", edgeDataCenterId: site.edgeDataCenterId, computePoolId: site.computePoolId, ttlSeconds: 60, maxUses: 1 };
    const cases: [Partial<typeof base> & { machineType?: string }, Code, string][] = [
      [{ role: "router" }, Code.InvalidArgument, "role"],
      [{ computePoolId: "" }, Code.InvalidArgument, "compute_pool_id"],
      [{ edgeDataCenterId: "nope" }, Code.InvalidArgument, "edge_data_center_id"],
      [{ edgeDataCenterId: "0190b3a0-0000-7000-8000-000000000009" }, Code.NotFound, "edge data center"],
      [{ machineType: "mainframe" }, Code.InvalidArgument, "machine_type"],
      [{ ttlSeconds: 365 * 24 * 3600 }, Code.InvalidArgument, "ttl_seconds"],
    ];
    for (const [patch, code, word] of cases) {
      const err = await failure(client.createJoinToken({ ...base, ...patch }));
      expect(err.code, JSON.stringify(patch)).to.equal(code);
      expect(err.rawMessage).to.contain(word);
    }
    const rows = await t.hub.db.knex("join_tokens").count<{ n: number }[]>({ n: "*" });
    expect(Number(rows[0]!.n)).to.equal(0);
  });

  it("refuses enrollment with a revoked token", async () => {
    const client = await fleet();
    const { token, joinTokenId, caFingerprintSha256 } = await client.createJoinToken({ role: "ceph_gateway", edgeDataCenterId: site.edgeDataCenterId, ttlSeconds: 600, maxUses: 5 });
    expect(token.endsWith(`.${caFingerprintSha256}`)).to.equal(true);
    await client.revokeJoinToken({ joinTokenId });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-revoked-token-"));
    dirs.push(dir);
    let message = "";
    await enrollAgent({ hub: `127.0.0.1:${t.hub.grpcPort}`, joinToken: token, role: "ceph_gateway", hostname: "gw-1", stateDir: new StateDir(dir) }).catch((err: Error) => (message = err.message));
    expect(message).to.equal("Enrollment refused by the hub (PERMISSION_DENIED): Cannot enroll: the join token was revoked");
    // A role other than the token's is refused too.
    const other = await client.createJoinToken({ role: "cloud_box", edgeDataCenterId: site.edgeDataCenterId, ttlSeconds: 600, maxUses: 1 });
    await enrollAgent({ hub: `127.0.0.1:${t.hub.grpcPort}`, joinToken: other.token, role: "compute", hostname: "gw-2", stateDir: new StateDir(dir) }).catch((err: Error) => (message = err.message));
    expect(message).to.equal("Enrollment refused by the hub (PERMISSION_DENIED): Cannot enroll: the join token is for role cloud_box, the agent asked for compute");
  });

  it("enrolls with an operator-supplied CA file instead of pinning, and cancels a queued command before delivery", async () => {
    const client = await fleet();
    const { token } = await client.createJoinToken({ role: "compute", edgeDataCenterId: site.edgeDataCenterId, computePoolId: site.computePoolId, ttlSeconds: 600, maxUses: 1 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-ca-file-"));
    dirs.push(dir);
    const caFile = path.join(t.config.dataDir, "pki", "hub-ca.crt");
    const id = await enrollAgent({ hub: `127.0.0.1:${t.hub.grpcPort}`, joinToken: token, role: "compute", hostname: "ca-file", hubCaFile: caFile, stateDir: new StateDir(dir) });
    expect((await client.getAgent({ agentId: id.agentId })).agent!.status).to.equal("enrolled");
    // Never connected: the command stays queued until cancelled, and is never delivered.
    const { command } = await client.runDiagnostic({ agentId: id.agentId, kind: "echo" });
    expect(command!.state).to.equal("queued");
    const cancelled = (await client.cancelCommand({ commandId: command!.commandId, reason: "not needed" })).command!;
    expect(cancelled).to.include({ state: "cancelled", error: "not needed", deliveryCount: 0 });
    // Cancelling again changes nothing.
    expect((await client.cancelCommand({ commandId: command!.commandId })).command!.state).to.equal("cancelled");
  });

  it("answers not_found and invalid_argument for unknown or malformed ids", async () => {
    const client = await fleet();
    expect((await failure(client.getAgent({ agentId: "0190b3a0-0000-7000-8000-000000000009" }))).code).to.equal(Code.NotFound);
    expect((await failure(client.getAgent({ agentId: "x" }))).code).to.equal(Code.InvalidArgument);
    expect((await failure(client.runDiagnostic({ agentId: "0190b3a0-0000-7000-8000-000000000009", kind: "echo" }))).code).to.equal(Code.NotFound);
    expect((await failure(client.getCommand({ commandId: "0190b3a0-0000-7000-8000-000000000009" }))).code).to.equal(Code.NotFound);
    expect((await failure(client.listCommands({ state: "bogus" }))).rawMessage).to.contain("state");
  });

  it("pages ListAgents in enrollment order with role and status filters, and refuses bad filters and tokens", async () => {
    const client = await fleet();
    const now = new Date();
    const ids = Array.from({ length: 7 }, () => newId());
    await t.hub.db.knex("agents").insert(ids.map((id, i) => ({
      id, role: "cloud_box", hostname: `box-${i}`, edge_data_center_id: site.edgeDataCenterId, certificate_serial: `${i + 1}`,
      certificate_expires_at: new Date(now.getTime() + 86_400_000), status: i % 2 === 0 ? "offline" : "enrolled", enrolled_at: now,
    })));
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const res = await client.listAgents({ role: "cloud_box", pageSize: 3, pageToken });
      expect(res.agents.length).to.be.at.most(3);
      seen.push(...res.agents.map((a) => a.agentId));
      pageToken = res.nextPageToken;
      pages++;
    } while (pageToken);
    expect(pages).to.equal(3);
    expect(seen).to.deep.equal([...ids].sort());
    const offline = await client.listAgents({ role: "cloud_box", status: "offline" });
    expect(offline.agents.map((a) => a.hostname).sort()).to.deep.equal(["box-0", "box-2", "box-4", "box-6"]);
    expect(offline.nextPageToken).to.equal("");

    const cases: [Parameters<typeof client.listAgents>[0], string][] = [
      [{ role: "router" }, "role"],
      [{ status: "sleeping" }, "status"],
      [{ pageSize: -1 }, "page_size"],
      [{ pageToken: "not-a-token" }, "page_token"],
    ];
    for (const [req, field] of cases) {
      const err = await failure(client.listAgents(req));
      expect(err.code, JSON.stringify(req)).to.equal(Code.InvalidArgument);
      expect(err.rawMessage).to.contain(field);
    }
  });

  it("requires a bearer token", async () => {
    expect((await failure(t.client(FleetService).listAgents({}))).code).to.equal(Code.Unauthenticated);
  });
});
