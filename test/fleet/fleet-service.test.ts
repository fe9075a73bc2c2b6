import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Code } from "@connectrpc/connect";
import { AgentStatus, CommandState, FleetService, MachineType } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { CommandPayloadSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { create } from "@bufbuild/protobuf";
import { enrollAgent } from "../../lib/fleet-session/enroll-agent.js";
import { StateDir } from "../../lib/fleet-session/state-dir.js";
import { newId } from "../../hub/db/ids.js";
import { connectErrorOf, errorReasons, violatedFields } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { createSite, echo, type Site } from "./support/fleet-fixtures.js";

const UNKNOWN = "0190b3a0-0000-7000-8000-000000000009";

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
  const enroll = async (token: string, role: "compute" | "ceph_gateway" | "cloud_box", hostname: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-fleet-service-"));
    dirs.push(dir);
    const caFile = path.join(t.config.dataDir, "pki", "hub-ca.crt");
    return enrollAgent({
      hub: `127.0.0.1:${t.hub.grpcPort}`,
      joinToken: token,
      role,
      hostname,
      hubCaFile: caFile,
      stateDir: new StateDir(dir),
    });
  };

  it("creates data centers and pools as resources, naming the bad field and refusing a taken name", async () => {
    const client = await fleet();
    const { edgeDataCenter } = await client.createEdgeDataCenter({
      edgeDataCenter: { name: "sz-1", location: "Shenzhen" },
    });
    expect(edgeDataCenter).to.include({ name: "sz-1", location: "Shenzhen" });
    expect(edgeDataCenter!.id).to.match(/^[0-9a-f-]{36}$/);
    expect(edgeDataCenter!.etag).to.not.equal("");
    expect(edgeDataCenter!.createTime).to.not.equal(undefined);
    expect(
      violatedFields(await connectErrorOf(client.createEdgeDataCenter({ edgeDataCenter: { name: " " } }))),
    ).to.deep.equal(["edge_data_center.name"]);
    expect(violatedFields(await connectErrorOf(client.createComputePool({})))).to.deep.equal(["compute_pool.name"]);
    expect((await connectErrorOf(client.createEdgeDataCenter({ edgeDataCenter: { name: "SZ-1" } }))).code).to.equal(
      Code.AlreadyExists,
    );
  });

  it("rejects bad join token requests with the field named, writing nothing", async () => {
    const client = await fleet();
    const base = {
      role: AgentRole.COMPUTE,
      edgeDataCenterId: site.edgeDataCenterId,
      computePoolId: site.computePoolId,
      ttlSeconds: 60,
      maxUses: 1,
      machineType: MachineType.UNSPECIFIED,
    };
    const cases: [Partial<typeof base>, Code, string][] = [
      [{ role: AgentRole.UNSPECIFIED }, Code.InvalidArgument, "role"],
      [{ role: 42 as AgentRole }, Code.InvalidArgument, "role"],
      [{ computePoolId: "" }, Code.InvalidArgument, "compute_pool_id"],
      [{ edgeDataCenterId: "nope" }, Code.InvalidArgument, "edge_data_center_id"],
      [{ machineType: 7 as MachineType }, Code.InvalidArgument, "machine_type"],
      [{ ttlSeconds: 365 * 24 * 3600 }, Code.InvalidArgument, "ttl_seconds"],
    ];
    for (const [patch, code, field] of cases) {
      const err = await connectErrorOf(client.createJoinToken({ ...base, ...patch }));
      expect(err.code, JSON.stringify(patch)).to.equal(code);
      expect(violatedFields(err), JSON.stringify(patch)).to.deep.equal([field]);
    }
    expect((await connectErrorOf(client.createJoinToken({ ...base, edgeDataCenterId: UNKNOWN }))).code).to.equal(
      Code.NotFound,
    );
    const rows = await t.hub.db.knex("join_tokens").count<{ n: number }[]>({ n: "*" });
    expect(Number(rows[0]!.n)).to.equal(0);
  });

  it("shows join tokens as resources and refuses enrollment with a revoked token", async () => {
    const client = await fleet();
    const created = await client.createJoinToken({
      role: AgentRole.CEPH_GATEWAY,
      edgeDataCenterId: site.edgeDataCenterId,
      ttlSeconds: 600,
      maxUses: 5,
      description: "gateways",
    });
    const { token, caFingerprintSha256 } = created;
    const joinToken = created.joinToken!;
    expect(token.endsWith(`.${caFingerprintSha256}`)).to.equal(true);
    expect(joinToken).to.include({
      role: AgentRole.CEPH_GATEWAY,
      maxUses: 5,
      useCount: 0,
      description: "gateways",
      edgeDataCenterId: site.edgeDataCenterId,
    });
    expect(joinToken.revokeTime).to.equal(undefined);
    expect((await client.getJoinToken({ id: joinToken.id })).joinToken).to.deep.equal(joinToken);
    const revoked = (await client.revokeJoinToken({ id: joinToken.id })).joinToken!;
    expect(revoked.revokeTime).to.not.equal(undefined);
    expect(revoked.etag).to.not.equal(joinToken.etag);
    let message = "";
    await enroll(token, "ceph_gateway", "gw-1").catch((err: Error) => (message = err.message));
    expect(message).to.equal(
      "Enrollment refused by the hub (PERMISSION_DENIED): Cannot enroll: the join token was revoked",
    );
    // A role other than the token's is refused too.
    const other = await client.createJoinToken({
      role: AgentRole.CLOUD_BOX,
      edgeDataCenterId: site.edgeDataCenterId,
      ttlSeconds: 600,
      maxUses: 1,
    });
    await enroll(other.token, "compute", "gw-2").catch((err: Error) => (message = err.message));
    expect(message).to.equal(
      "Enrollment refused by the hub (PERMISSION_DENIED): Cannot enroll: the join token is for role cloud_box, the agent asked for compute",
    );
  });

  it("queues, cancels and refuses commands with typed payloads and stable reasons", async () => {
    const client = await fleet();
    const { token } = await client.createJoinToken({
      role: AgentRole.COMPUTE,
      edgeDataCenterId: site.edgeDataCenterId,
      computePoolId: site.computePoolId,
      ttlSeconds: 600,
      maxUses: 1,
    });
    const id = await enroll(token, "compute", "ca-file");
    const agent = (await client.getAgent({ id: id.agentId })).agent!;
    expect(agent).to.include({
      id: id.agentId,
      status: AgentStatus.ENROLLED,
      role: AgentRole.COMPUTE,
      hostname: "ca-file",
    });
    expect(agent.createTime).to.not.equal(undefined);
    // Never connected: the command stays queued until cancelled, and is never delivered.
    const { command } = await client.runDiagnostic({ agentId: id.agentId, payload: echo("hi") });
    expect(command!.state).to.equal(CommandState.QUEUED);
    expect(command!.payload).to.deep.equal(echo("hi"));
    expect((await client.getCommand({ id: command!.id })).command).to.deep.equal(command);
    const cancelled = (await client.cancelCommand({ id: command!.id, reason: "not needed" })).command!;
    expect(cancelled).to.include({ state: CommandState.CANCELLED, error: "not needed", deliveryCount: 0 });
    expect(cancelled.etag).to.not.equal(command!.etag);
    // Cancelling again changes nothing; a command that finished otherwise is COMMAND_FINISHED.
    expect((await client.cancelCommand({ id: command!.id })).command!.state).to.equal(CommandState.CANCELLED);
    const done = (await client.runDiagnostic({ agentId: id.agentId, payload: echo() })).command!;
    await t.hub.db
      .knex("agent_commands")
      .where({ id: done.id })
      .update({ state: "succeeded", finished_at: new Date() });
    const finished = await connectErrorOf(client.cancelCommand({ id: done.id }));
    expect(finished.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(finished)).to.deep.equal(["COMMAND_FINISHED"]);
    // A payload must name its kind.
    expect(
      violatedFields(
        await connectErrorOf(client.runDiagnostic({ agentId: id.agentId, payload: create(CommandPayloadSchema) })),
      ),
    ).to.deep.equal(["payload"]);
    expect(
      violatedFields(
        await connectErrorOf(
          client.runDiagnostic({ agentId: id.agentId, payload: echo(), deadlineSeconds: 8 * 24 * 3600 }),
        ),
      ),
    ).to.deep.equal(["deadline_seconds"]);
    // A revoked agent runs nothing.
    const revoked = (await client.revokeAgent({ id: id.agentId, reason: "gone" })).agent!;
    expect(revoked.status).to.equal(AgentStatus.REVOKED);
    expect(revoked.revokeTime).to.not.equal(undefined);
    expect((await client.revokeAgent({ id: id.agentId })).agent!.revokeTime).to.deep.equal(revoked.revokeTime);
    const refused = await connectErrorOf(client.runDiagnostic({ agentId: id.agentId, payload: echo() }));
    expect(refused.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(refused)).to.deep.equal(["AGENT_REVOKED"]);
  });

  it("answers invalid_argument naming the field for a malformed id and not_found for an unknown one", async () => {
    const client = await fleet();
    const calls: [string, (id: string) => Promise<unknown>][] = [
      ["id", (id) => client.getAgent({ id })],
      ["id", (id) => client.revokeAgent({ id })],
      ["id", (id) => client.getCommand({ id })],
      ["id", (id) => client.cancelCommand({ id })],
      ["id", (id) => client.getJoinToken({ id })],
      ["id", (id) => client.revokeJoinToken({ id })],
      ["agent_id", (id) => client.runDiagnostic({ agentId: id, payload: echo() })],
    ];
    for (const [field, call] of calls) {
      const malformed = await connectErrorOf(call("x"));
      expect(malformed.code, call.toString()).to.equal(Code.InvalidArgument);
      expect(violatedFields(malformed)).to.deep.equal([field]);
      expect((await connectErrorOf(call(UNKNOWN))).code, call.toString()).to.equal(Code.NotFound);
    }
    expect(violatedFields(await connectErrorOf(client.listCommands({ agentId: "x" })))).to.deep.equal(["agent_id"]);
    expect(violatedFields(await connectErrorOf(client.listCommands({ state: 99 as CommandState })))).to.deep.equal([
      "state",
    ]);
  });

  it("pages ListAgents in enrollment order with role and status filters, and refuses bad filters and tokens", async () => {
    const client = await fleet();
    const now = new Date();
    const ids = Array.from({ length: 7 }, () => newId());
    await t.hub.db.knex("agents").insert(
      ids.map((id, i) => ({
        id,
        role: "cloud_box",
        hostname: `box-${i}`,
        edge_data_center_id: site.edgeDataCenterId,
        certificate_serial: `${i + 1}`,
        certificate_expires_at: new Date(now.getTime() + 86_400_000),
        status: i % 2 === 0 ? "offline" : "enrolled",
        enrolled_at: now,
      })),
    );
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const res = await client.listAgents({ role: AgentRole.CLOUD_BOX, pageSize: 3, pageToken });
      expect(res.agents.length).to.be.at.most(3);
      seen.push(...res.agents.map((a) => a.id));
      pageToken = res.nextPageToken;
      pages++;
    } while (pageToken);
    expect(pages).to.equal(3);
    expect(seen).to.deep.equal([...ids].sort());
    const offline = await client.listAgents({ role: AgentRole.CLOUD_BOX, status: AgentStatus.OFFLINE });
    expect(offline.agents.map((a) => a.hostname).sort()).to.deep.equal(["box-0", "box-2", "box-4", "box-6"]);
    expect(offline.nextPageToken).to.equal("");

    const cases: [Parameters<typeof client.listAgents>[0], string][] = [
      [{ role: 9 as AgentRole }, "role"],
      [{ status: 9 as AgentStatus }, "status"],
      [{ pageSize: -1 }, "page_size"],
      [{ pageToken: "not-a-token" }, "page_token"],
    ];
    for (const [req, field] of cases) {
      const err = await connectErrorOf(client.listAgents(req));
      expect(err.code, JSON.stringify(req)).to.equal(Code.InvalidArgument);
      expect(violatedFields(err)).to.deep.equal([field]);
    }
  });

  it("requires a bearer token", async () => {
    expect((await connectErrorOf(t.client(FleetService).listAgents({}))).code).to.equal(Code.Unauthenticated);
  });
});
