import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { AgentStatus, CommandState as AdminCommandState, FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import {
  AgentMessageSchema,
  CommandState,
  EventSeverity,
  HubMessageSchema,
  type AgentMessage,
  type HubMessage,
} from "../../gen/edgehub/fleet/v1/agent_pb.js";
import { deserializerOf } from "../../lib/grpc-protobuf/grpc-service-definition.js";
import { enrollAgent } from "../../lib/fleet-session/enroll-agent.js";
import { HubClient } from "../../lib/fleet-session/hub-client.js";
import { StateDir, type StoredIdentity } from "../../lib/fleet-session/state-dir.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { spawnAgent, waitFor, type AgentProcess } from "./support/agent-process.js";
import { createSite, echo, mintToken } from "./support/fleet-fixtures.js";

const hello = (id: StoredIdentity): AgentMessage =>
  create(AgentMessageSchema, {
    kind: { case: "hello", value: { agentId: id.agentId, role: AgentRole.COMPUTE, agentVersion: "test" } },
  });

/** A raw stream with the agent's certificate: frames are written as given bytes, so tests can send anything. */
class RawStream {
  readonly received: HubMessage[] = [];
  readonly status: Promise<grpc.ServiceError | undefined>;
  private readonly hubClient: HubClient;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, HubMessage>;

  constructor(hub: string, id: StoredIdentity) {
    this.hubClient = new HubClient(hub, id, { "grpc.max_send_message_length": 64 * 1024 * 1024 });
    this.client = this.hubClient.raw;
    this.call = this.client.makeBidiStreamRequest(
      "/edgehub.fleet.v1.AgentService/Connect",
      (b: Buffer) => b,
      deserializerOf(HubMessageSchema),
    );
    this.call.on("data", (m: HubMessage) => this.received.push(m));
    this.status = new Promise((resolve) => {
      this.call.on("error", (err: grpc.ServiceError) => resolve(err));
      this.call.on("end", () => resolve(undefined));
    });
  }
  send(m: AgentMessage | Buffer): void {
    this.call.write(Buffer.isBuffer(m) ? m : Buffer.from(toBinary(AgentMessageSchema, m)));
  }
  async welcomed(): Promise<void> {
    await waitFor("Welcome", () => this.received.some((m) => m.kind.case === "welcome"), 60_000, 20);
  }
  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

describe("bad input on the agent stream", function () {
  let t: TestHub;
  let hub: string;
  let identity: StoredIdentity;
  let bystander: AgentProcess;
  const dirs: string[] = [];
  const streams: RawStream[] = [];

  before(async () => {
    // Default heartbeat and restart grace: the raw streams here never send a heartbeat, and a short
    // offline threshold let liveness take the prober offline before a test saw it "disconnected".
    t = await startTestHub();
    hub = `127.0.0.1:${t.hub.grpcPort}`;
    const site = await createSite(t);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-bad-input-"));
    dirs.push(dir);
    identity = await enrollAgent({
      hub,
      joinToken: await mintToken(t, site),
      role: "compute",
      hostname: "prober",
      stateDir: new StateDir(dir),
    });
    bystander = spawnAgent({ hub, joinToken: await mintToken(t, site), hostname: "bystander" });
    await waitFor("the bystander to connect", async () => {
      const { agents } = await t.client(FleetService, await t.adminToken()).listAgents({});
      return agents.find((a) => a.hostname === "bystander")?.status === AgentStatus.CONNECTED;
    });
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  after(async () => {
    await bystander?.dispose();
    await t?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const open = () => {
    const s = new RawStream(hub, identity);
    streams.push(s);
    return s;
  };
  const statusOfProber = async () =>
    (await t.client(FleetService, await t.adminToken()).getAgent({ id: identity.agentId })).agent!.status;

  it("closes a stream whose first message is not Hello", async () => {
    const s = open();
    s.send(create(AgentMessageSchema, { kind: { case: "heartbeat", value: { sequence: 1n } } }));
    const err = await s.status;
    expect(err?.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).to.equal("Invalid message: expected Hello as the first message, got heartbeat");
  });

  it("closes a stream that reports a result for a command it was never given", async () => {
    const s = open();
    s.send(hello(identity));
    await s.welcomed();
    s.send(
      create(AgentMessageSchema, {
        kind: {
          case: "commandUpdate",
          value: { commandId: "0190b3a0-0000-7000-8000-000000000001", state: CommandState.SUCCEEDED },
        },
      }),
    );
    const err = await s.status;
    expect(err?.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).to.equal(
      `Invalid command_update.command_id: 0190b3a0-0000-7000-8000-000000000001 is not a command sent to agent ${identity.agentId}`,
    );
    await waitFor("the prober marked disconnected", async () => (await statusOfProber()) === AgentStatus.DISCONNECTED);
  });

  it("closes a stream that sends garbage bytes", async () => {
    const s = open();
    s.send(hello(identity));
    await s.welcomed();
    s.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    const err = await s.status;
    expect(err?.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).to.match(/^Invalid message: cannot decode edgehub\.fleet\.v1\.AgentMessage: /);
    await waitFor("the prober marked disconnected", async () => (await statusOfProber()) === AgentStatus.DISCONNECTED);
  });

  it("closes a stream that sends an oversized message", async () => {
    const s = open();
    s.send(hello(identity));
    await s.welcomed();
    s.send(
      create(AgentMessageSchema, {
        kind: { case: "event", value: { kind: "flood", message: "x".repeat(5 * 1024 * 1024) } },
      }),
    );
    const err = await s.status;
    expect(err?.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(err?.details).to.match(/message larger than max/i);
    await waitFor("the prober marked disconnected", async () => (await statusOfProber()) === AgentStatus.DISCONNECTED);
  });

  it("closes the older stream when the same agent opens a second one, and the agent stays connected", async () => {
    const first = open();
    first.send(hello(identity));
    await first.welcomed();
    const second = open();
    second.send(hello(identity));
    await second.welcomed();
    const err = await first.status;
    expect(err?.code).to.equal(grpc.status.ABORTED);
    expect(err?.details).to.equal("Agent stream replaced by a newer session of the same agent");
    // The old stream's close must not mark the agent disconnected: its session is no longer current.
    // The barrier is the hub having recorded that close, not a pause.
    await t.hub.fleetSettled();
    expect(await statusOfProber()).to.equal(AgentStatus.CONNECTED);
  });

  it("records the events an agent reports", async () => {
    const s = open();
    s.send(hello(identity));
    await s.welcomed();
    s.send(
      create(AgentMessageSchema, {
        kind: {
          case: "event",
          value: {
            kind: "vm_lifecycle",
            severity: EventSeverity.WARNING,
            message: "Domain i-1 crashed",
            attributes: { domain: "i-1" },
          },
        },
      }),
    );
    const row = await waitFor(
      "the event row",
      async () =>
        await t.hub.db
          .knex("fleet_events")
          .where({ agent_id: identity.agentId, kind: "vm_lifecycle" })
          .first<{ severity: string; message: string; details: unknown } | undefined>("severity", "message", "details"),
    );
    expect(row).to.deep.include({ severity: "warning", message: "Domain i-1 crashed" });
    expect(row.details).to.deep.equal({ domain: "i-1" });
  });

  it("leaves other agents untouched", async () => {
    const client = t.client(FleetService, await t.adminToken());
    const { agents } = await client.listAgents({});
    const b = agents.find((a) => a.hostname === "bystander")!;
    expect(b.status).to.equal(AgentStatus.CONNECTED);
    const { command } = await client.runDiagnostic({ agentId: b.id, payload: echo() });
    await waitFor(
      "the bystander's command",
      async () => (await client.getCommand({ id: command!.id })).command!.state === AdminCommandState.SUCCEEDED,
    );
  });
});
