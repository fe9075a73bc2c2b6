import "reflect-metadata";
import { expect } from "chai";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { AgentStatus, CommandState, FleetService, MachineType } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { AgentMessageSchema } from "../../gen/edgehub/fleet/v1/agent_pb.js";
import { HubClient } from "../../lib/fleet-session/hub-client.js";
import { StateDir } from "../../lib/fleet-session/state-dir.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { disposeAgents, spawnAgent, waitFor, type AgentProcess } from "./support/agent-process.js";
import { collectInventory, createSite, echo, mintToken, type Site } from "./support/fleet-fixtures.js";

describe("Fleet enrollment (real agent processes)", function () {
  let t: TestHub;
  let site: Site;
  let hub: string;
  const agents: AgentProcess[] = [];

  before(async () => {
    t = await startTestHub({
      args: [
        "--heartbeat-interval",
        "200",
        "--restart-grace",
        "0",
        "--metrics-interval",
        "300",
        "--metrics-maintenance-interval",
        "200",
      ],
    });
    site = await createSite(t);
    hub = `127.0.0.1:${t.hub.grpcPort}`;
  });
  after(async () => {
    await disposeAgents(agents);
    await t?.stop();
  });

  const fleet = async () => t.client(FleetService, await t.adminToken());

  it("enrolls three agents with join tokens; they appear in ListAgents with their inventory", async () => {
    const computeToken = await mintToken(t, site, { maxUses: 2 });
    const boxToken = await mintToken(t, site, { role: AgentRole.CLOUD_BOX });
    agents.push(spawnAgent({ hub, joinToken: computeToken, hostname: "node-a" }));
    agents.push(spawnAgent({ hub, joinToken: computeToken, hostname: "node-b" }));
    agents.push(spawnAgent({ hub, joinToken: boxToken, hostname: "box-1", program: "cloudbox" }));
    const client = await fleet();
    const listed = await waitFor("three connected agents", async () => {
      const { agents: list } = await client.listAgents({});
      return list.length === 3 && list.every((a) => a.status === AgentStatus.CONNECTED && a.inventory)
        ? list
        : undefined;
    });
    expect(listed.map((a) => a.hostname).sort()).to.deep.equal(["box-1", "node-a", "node-b"]);
    expect(listed.map((a) => a.role).sort()).to.deep.equal([AgentRole.COMPUTE, AgentRole.COMPUTE, AgentRole.CLOUD_BOX]);
    const inventory = listed.find((a) => a.hostname === "node-a")!.inventory!;
    expect(inventory.cpu!.cores).to.be.greaterThan(0);
    expect(inventory.memoryTotalBytes > 0n).to.equal(true);
    // Compute agents registered their compute_machines rows in the token's data center and pool.
    const machines = await t.hub.db
      .knex("compute_machines")
      .orderBy("hostname")
      .select("hostname", "machine_type", "resource_pool_id", "edge_data_center_id", "status", "cpu_cores");
    expect(machines.map((m) => m.hostname)).to.deep.equal(["node-a", "node-b"]);
    for (const m of machines) {
      expect(m).to.include({
        machine_type: "cpu_server",
        resource_pool_id: site.computePoolId,
        edge_data_center_id: site.edgeDataCenterId,
        status: "active",
      });
      expect(m.cpu_cores).to.be.greaterThan(0);
    }
    const nodeA = listed.find((a) => a.hostname === "node-a")!;
    expect(nodeA.computeMachineId).to.match(/^[0-9a-f-]{36}$/);
    expect(nodeA.hubId).to.equal(t.hub.hubId);
    // Tokens are stored hashed: the secret appears nowhere in the table.
    const secret = computeToken.split(".")[1]!;
    const rows = await t.hub.db.knex("join_tokens").select("*");
    expect(JSON.stringify(rows)).not.to.contain(secret);
  });

  it("runs a diagnostic command on an agent through FleetService", async () => {
    const client = await fleet();
    const { agents: list } = await client.listAgents({ role: AgentRole.COMPUTE });
    const { command } = await client.runDiagnostic({ agentId: list[0]!.id, payload: echo("hello edge") });
    const done = await waitFor("echo to succeed", async () => {
      const { command: c } = await client.getCommand({ id: command!.id });
      return c?.state === CommandState.SUCCEEDED ? c : undefined;
    });
    expect(done.result?.kind).to.deep.include({ case: "echo" });
    expect(done.result?.kind.case === "echo" && done.result.kind.value.message).to.equal("hello edge");
    const inv = await client.runDiagnostic({ agentId: list[0]!.id, payload: collectInventory() });
    const invDone = await waitFor("collect_inventory to succeed", async () => {
      const { command: c } = await client.getCommand({ id: inv.command!.id });
      return c?.state === CommandState.SUCCEEDED ? c : undefined;
    });
    expect(invDone.result?.kind.case === "inventory" && invDone.result.kind.value.hostname).to.equal(list[0]!.hostname);
  });

  it("refuses a used-up token with a clear error", async () => {
    const token = await mintToken(t, site, { maxUses: 1, machineType: MachineType.PC_FARM });
    const first = spawnAgent({ hub, joinToken: token, hostname: "node-c" });
    agents.push(first);
    await waitFor("node-c to enroll", () => first.output().includes("Enrolled with the hub"));
    // The token's machine type wins over what the inventory suggests.
    const machine = await waitFor(
      "node-c's machine row",
      async () =>
        await t.hub.db
          .knex("compute_machines")
          .where({ hostname: "node-c" })
          .first<{ machine_type: string } | undefined>("machine_type"),
    );
    expect(machine.machine_type).to.equal("pc_farm");
    const second = spawnAgent({ hub, joinToken: token, hostname: "node-d" });
    agents.push(second);
    const exit = await second.exited;
    expect(exit.code).to.equal(1);
    expect(second.output()).to.contain(
      "Enrollment refused by the hub (PERMISSION_DENIED): Cannot enroll: the join token is used up (1 of 1 uses)",
    );
  });

  it("refuses an expired token with a clear error", async () => {
    const token = await mintToken(t, site, { ttlSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    const agent = spawnAgent({ hub, joinToken: token, hostname: "node-late" });
    agents.push(agent);
    expect((await agent.exited).code).to.equal(1);
    expect(agent.output()).to.match(
      /Enrollment refused by the hub \(PERMISSION_DENIED\): Cannot enroll: the join token expired at/,
    );
  });

  it("refuses a token that pins another hub's CA before sending it", async () => {
    const token = await mintToken(t, site);
    const forged = token.replace(/\.[0-9a-f]{64}$/, `.${"ab".repeat(32)}`);
    const agent = spawnAgent({ hub, joinToken: forged, hostname: "node-mitm" });
    agents.push(agent);
    expect((await agent.exited).code).to.equal(1);
    expect(agent.output()).to.contain("no certificate it presented matches the CA fingerprint in the join token");
  });

  async function forgedIdentity(agentId: string, caName: string): Promise<{ keyPem: string; certPem: string }> {
    x509.cryptoProvider.set(webcrypto as never);
    const alg = { name: "ECDSA", namedCurve: "P-256" } as const;
    const sig = { name: "ECDSA", hash: "SHA-256" } as const;
    const caKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const notBefore = new Date(Date.now() - 3600_000);
    const notAfter = new Date(Date.now() + 24 * 3600_000);
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: caName,
      notBefore,
      notAfter,
      keys: caKeys,
      signingAlgorithm: sig,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    });
    const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: "02",
      subject: `CN=${agentId}, OU=compute`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: sig,
      extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    });
    return {
      keyPem: x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY"),
      certPem: cert.toString("pem"),
    };
  }

  async function connectWith(
    identity: { keyPem: string; certPem: string },
    agentId: string,
  ): Promise<grpc.ServiceError> {
    const hubClient = new HubClient(hub, {
      caPem: t.hub.ca.certPem,
      keyPem: identity.keyPem,
      certPem: identity.certPem,
    });
    try {
      const call = hubClient.connect();
      call.write(create(AgentMessageSchema, { kind: { case: "hello", value: { agentId, role: AgentRole.COMPUTE } } }));
      return await new Promise<grpc.ServiceError>((resolve) => {
        call.on("error", resolve);
        call.on("data", () => undefined);
      });
    } finally {
      hubClient.close();
    }
  }

  it("refuses a stream with a certificate forged by another CA, naming the reason; the real agent is unaffected", async () => {
    const client = await fleet();
    const { agents: list } = await client.listAgents({ role: AgentRole.COMPUTE });
    const victim = list[0]!.id;
    const err = await connectWith(await forgedIdentity(victim, "CN=not the hub CA"), victim);
    expect(err.code, err.details).to.equal(grpc.status.UNAUTHENTICATED);
    expect(err.details).to.match(/^Agent stream refused: .*(not signed by|issued by) this hub's CA/);
    // A forger who copies the hub CA's name fails earlier: OpenSSL drops the handshake.
    const sameName = await connectWith(await forgedIdentity(victim, "CN=edgehub hub CA"), victim);
    expect(sameName.code, sameName.details).to.be.oneOf([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED]);
    const { agent } = await client.getAgent({ id: victim });
    expect(agent!.status).to.equal(AgentStatus.CONNECTED);
  });

  it("stores the host metrics an agent sends at the interval from Welcome", async () => {
    const agent = spawnAgent({
      hub,
      joinToken: await mintToken(t, site),
      hostname: "node-metrics",
      metrics: true,
      extraArgs: ["--metrics-listen", "127.0.0.1:0"],
    });
    agents.push(agent);
    const agentId = await waitFor("node-metrics to connect", async () => {
      const { agents: list } = await (await fleet()).listAgents({});
      return list.find((a) => a.hostname === "node-metrics" && a.status === AgentStatus.CONNECTED)?.id;
    });
    await waitFor(
      "two stored samples",
      async () => {
        const rows = await t.hub.db
          .knex("host_metrics_raw")
          .where({ agent_id: agentId })
          .count<{ n: number }[]>({ n: "*" });
        return Number(rows[0]!.n) >= 2;
      },
      60_000,
      100,
    );
    // The hub's maintenance loop rolls the samples up into the current hour.
    await waitFor(
      "an hourly rollup of those samples",
      async () => {
        // Summed over hours: the two samples may straddle an hour boundary.
        const rows = await t.hub.db
          .knex("host_metrics_hourly")
          .where({ agent_id: agentId })
          .select<{ samples: number }[]>("samples");
        return rows.reduce((n, r) => n + Number(r.samples), 0) >= 2;
      },
      60_000,
      100,
    );
    const health = await t.hub.db.knex("compute_machines").where({ agent_id: agentId }).first("health_status");
    expect(health.health_status).to.be.oneOf(["healthy", "warning", "critical"]);
    // The agent's own /metrics counts its session and the commands it ran.
    const port = Number(/"port":(\d+),"msg":"Serving agent metrics"/.exec(agent.output())?.[1]);
    const { command } = await (await fleet()).runDiagnostic({ agentId, payload: echo() });
    await waitFor(
      "echo done",
      async () => (await (await fleet()).getCommand({ id: command!.id })).command!.state === CommandState.SUCCEEDED,
    );
    const text = await waitFor("agent metrics", async () => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return body.includes('edgehub_agent_commands_total{kind="echo",outcome="succeeded"} 1') ? body : undefined;
    });
    expect(text).to.match(/^edgehub_agent_connected 1$/m);
    expect(text).to.match(/^edgehub_agent_heartbeats_sent_total [1-9]\d*$/m);
  });

  it("keeps the enrolled identity in the state directory", async () => {
    const a = spawnAgent({ hub, joinToken: await mintToken(t, site), hostname: "node-identity" });
    agents.push(a);
    const identity = await waitFor(
      "node-identity to store its identity",
      () => a.output().includes("Enrolled with the hub") && new StateDir(a.stateDir).loadIdentity(),
    );
    expect(identity?.agentId).to.match(/^[0-9a-f-]{36}$/);
    expect(identity?.certPem).to.contain("BEGIN CERTIFICATE");
    expect(identity?.caPem.replace(/\s/g, "")).to.equal(t.hub.ca.certPem.replace(/\s/g, ""));
  });
});
