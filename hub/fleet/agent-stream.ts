import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  AgentMessageSchema,
  HubMessageSchema,
  type AgentMessage,
  type CommandUpdate,
  type Hello,
  type HubMessage,
} from "../../gen/edgehub/fleet/v1/agent_pb.js";
import { DecodeFailure } from "../../lib/grpc-protobuf/grpc-service-definition.js";
import { inventoryFromProto, metricsFromProto } from "../../lib/host-facts/host-facts-proto.js";
import { newId } from "../db/ids.js";
import { checkAgentText } from "../api/text-rules.js";
import { DomainError, InvalidArgumentError, UnauthenticatedError } from "../domain/errors.js";
import { agentIdentityFromPeer, type AgentIdentity } from "./agent-identity.js";
import { closeSession } from "./agent-store.js";
import { isFinal } from "./command-lifecycle.js";
import { payloadFromStore, resultToStore } from "./command-wire.js";
import { AGENT_ROLE, EVENT_SEVERITY, REPORT_STATE, type AgentRole } from "./fleet-enums.js";
import { applyAgentReport, markDelivered, pendingCommands } from "./command-store.js";
import { boxFactsFromProto, deviceMetricsFromProto } from "../cloud-box-devices/box-facts-wire.js";
import { recordBoxMetrics } from "../cloud-box-devices/cloud-box-registry.js";
import type { FleetRuntime, LocalSession } from "./fleet-runtime.js";
import { grpcCode } from "./grpc-status.js";

export type ConnectCall = grpc.ServerDuplexStream<AgentMessage | DecodeFailure, HubMessage>;

/** awaiting_hello → established → closed; anything but Hello first closes the stream. */
type StreamState = "awaiting_hello" | "established" | "closed";

// Generous: after a restart the hub may sit on thousands of fresh streams, and a timer that fires
// before their already-received Hellos are read would throw away a finished TLS handshake.
const HELLO_TIMEOUT_MS = 30_000;

/** One agent's Connect stream on this hub: the protocol (Hello → Welcome, then an exhaustive switch) and its session. */
export class AgentStream implements LocalSession {
  readonly sessionId = newId();
  agentId = "";
  role: AgentRole = "compute";
  private state: StreamState = "awaiting_hello";
  private identity: AgentIdentity | undefined;
  private inbox: Promise<void> = Promise.resolve();
  private readonly sent = new Set<string>();
  private pumping = false;
  private pumpAgain = false;
  private fullPumpDone = false;
  private helloTimer: NodeJS.Timeout | undefined;
  private log: Logger;

  constructor(
    private readonly fleet: FleetRuntime,
    private readonly call: ConnectCall,
  ) {
    this.log = fleet.deps.log.child({ component: "agent-stream", session: this.sessionId });
  }

  start(): void {
    this.call.on("data", (m: AgentMessage | DecodeFailure) => {
      this.inbox = this.inbox.then(() => this.onMessage(m)).catch((err) => this.failWith(err));
    });
    this.call.on("end", () => this.finish("Agent ended the stream"));
    this.call.on("cancelled", () => this.cleanup("cancelled by the agent or transport"));
    this.call.on("close", () => this.cleanup("closed"));
    this.call.on("error", () => this.cleanup("errored"));
    try {
      this.identity = agentIdentityFromPeer(
        this.call.getAuthContext().sslPeerCertificate,
        this.fleet.caSubject,
        this.fleet.deps.clock.now(),
      );
    } catch (err) {
      this.failWith(err);
      return;
    }
    this.log = this.log.child({ agent: this.identity.agentId });
    this.helloTimer = setTimeout(
      () => this.fail("aborted", `Agent stream closed: no Hello within ${HELLO_TIMEOUT_MS} ms`),
      HELLO_TIMEOUT_MS,
    );
    this.helloTimer.unref();
    this.fleet.deps.metrics.streamEvents.inc({ event: "open" });
  }

  private async onMessage(m: AgentMessage | DecodeFailure): Promise<void> {
    if (this.state === "closed") return;
    if (m instanceof DecodeFailure)
      throw new InvalidArgumentError("message", `cannot decode ${m.typeName}: ${m.reason}`);
    // NUL and control characters never reach the database (a bad Hello would fail its whole batch):
    // such a message closes this agent's stream alone, with the field named.
    checkAgentText(AgentMessageSchema, m);
    if (this.state === "awaiting_hello") {
      if (m.kind.case !== "hello")
        throw new InvalidArgumentError(
          "message",
          `expected Hello as the first message, got ${m.kind.case ?? "an empty message"}`,
        );
      await this.onHello(m.kind.value);
      return;
    }
    const kind = m.kind;
    switch (kind.case) {
      case "hello":
        throw new InvalidArgumentError("message", "Hello may only be the first message of a stream");
      case "heartbeat":
        this.fleet.liveness.recordHeartbeat(this.agentId);
        this.fleet.deps.metrics.heartbeatsReceived.inc();
        return;
      case "metrics": {
        const box = kind.value.sample?.cloudBox;
        if (box && this.role === "cloud_box")
          await recordBoxMetrics(
            this.fleet.knex,
            this.agentId,
            deviceMetricsFromProto(box),
            this.fleet.deps.clock.now(),
          ).catch((err) => this.log.warn({ err }, "Device metrics not stored"));
        const onMetrics = this.fleet.deps.onMetrics;
        if (onMetrics && kind.value.sample) {
          await onMetrics(this.agentId, metricsFromProto(kind.value.sample, this.fleet.deps.clock.now())).catch((err) =>
            this.log.warn({ err }, "Metrics sample not stored"),
          );
        }
        return;
      }
      case "commandUpdate":
        await this.onCommandUpdate(kind.value);
        return;
      case "event": {
        const e = kind.value;
        const record = {
          agentId: this.agentId,
          kind: e.kind,
          severity: EVENT_SEVERITY.toDbFilter("event.severity", e.severity) ?? "info",
          message: e.message,
          attributes: { ...e.attributes },
          occurredAt: e.eventTime ? timestampDate(e.eventTime) : this.fleet.deps.clock.now(),
        };
        this.log.info({ event: record }, `Agent event ${e.kind}`);
        await this.fleet.onEvent(record).catch((err) => this.log.warn({ err }, "Agent event not stored"));
        return;
      }
      case undefined:
        throw new InvalidArgumentError("message", "empty message (no kind set)");
      default: {
        const never: never = kind;
        throw new InvalidArgumentError("message", `unknown kind ${(never as { case: string }).case}`);
      }
    }
  }

  private async onHello(hello: Hello): Promise<void> {
    await this.fleet.ready;
    const identity = this.identity!;
    if (hello.agentId !== identity.agentId)
      throw new UnauthenticatedError(
        `Agent stream refused: Hello names agent ${hello.agentId} but the certificate is for ${identity.agentId}`,
      );
    const role = AGENT_ROLE.toDbFilter("hello.role", hello.role) ?? undefined;
    if (role !== identity.role)
      throw new InvalidArgumentError(
        "hello.role",
        `is ${role ?? "unspecified"} but the certificate says ${identity.role}`,
      );
    const outcome = await this.fleet.hellos.admit({
      agentId: identity.agentId,
      sessionId: this.sessionId,
      serial: identity.serial,
      role,
      agentVersion: hello.agentVersion,
      inventory: hello.inventory ? inventoryFromProto(hello.inventory) : null,
      cloudBox: role === "cloud_box" ? boxFactsFromProto(hello.cloudBox) : null,
      isOpen: () => this.state === "awaiting_hello",
    });
    if (!outcome.ok) {
      if ("dropped" in outcome) return;
      throw outcome.error;
    }
    if (this.state !== "awaiting_hello") {
      // The stream closed while its batch committed; undo the session row just made.
      await closeSession(this.fleet.knex, identity.agentId, this.sessionId, this.fleet.deps.clock.now());
      return;
    }
    clearTimeout(this.helloTimer);
    this.agentId = identity.agentId;
    this.role = role;
    this.state = "established";
    this.fleet.register(this);
    this.fleet.deps.metrics.connectedAgents.inc({ role });
    this.log.info({ role, version: hello.agentVersion }, "Agent connected");
    const o = this.fleet.deps.options;
    this.write(
      create(HubMessageSchema, {
        kind: {
          case: "welcome",
          value: {
            agentId: identity.agentId,
            hubId: this.fleet.hubId,
            heartbeatIntervalMs: o.heartbeatIntervalMs,
            metricsIntervalMs: o.metricsIntervalMs,
          },
        },
      }),
    );
    // The first pump comes from the batcher: one query finds which of the batch's agents have commands.
  }

  private async onCommandUpdate(u: CommandUpdate): Promise<void> {
    const state = REPORT_STATE.toDbFilter("command_update.state", u.state);
    if (!state) throw new InvalidArgumentError("command_update.state", "is unspecified");
    const result = resultToStore(u.result);
    const now = this.fleet.deps.clock.now();
    const outcome = await applyAgentReport(
      this.fleet.knex,
      this.agentId,
      u.commandId,
      { state, result, error: u.error || null },
      now,
    );
    if (outcome.kind === "unknown")
      throw new InvalidArgumentError(
        "command_update.command_id",
        `${u.commandId} is not a command sent to agent ${this.agentId}`,
      );
    if (outcome.kind === "applied" && isFinal(outcome.command.state)) {
      this.sent.delete(u.commandId);
      this.fleet.deps.metrics.commandsFinished.inc({ outcome: outcome.command.state });
      this.fleet.deps.metrics.commandLatencySeconds.observe(
        { kind: outcome.command.kind },
        (now.getTime() - outcome.command.createdAt.getTime()) / 1000,
      );
    }
  }

  /** Sends the agent's unfinished commands not yet sent on this stream; coalesces concurrent calls. */
  pump(): void {
    if (this.state !== "established") return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.runPump()
      .catch((err) => this.log.warn({ err }, "Command delivery failed; the next notice or poll retries"))
      .finally(() => (this.pumping = false));
  }

  private async runPump(): Promise<void> {
    do {
      this.pumpAgain = false;
      const now = this.fleet.deps.clock.now();
      // The first pump of a stream re-sends delivered and running commands too: at-least-once.
      const queuedOnly = this.fullPumpDone;
      const commands = (await pendingCommands(this.fleet.knex, this.agentId, now, queuedOnly)).filter(
        (c) => !this.sent.has(c.id),
      );
      this.fullPumpDone = true;
      if (commands.length === 0 || this.state !== "established") continue;
      await markDelivered(
        this.fleet.knex,
        commands.map((c) => c.id),
        now,
      );
      for (const c of commands) {
        this.sent.add(c.id);
        this.write(
          create(HubMessageSchema, {
            kind: {
              case: "command",
              value: {
                commandId: c.id,
                payload: payloadFromStore(c.payload),
                expireTime: timestampFromDate(c.deadline),
              },
            },
          }),
        );
      }
    } while (this.pumpAgain && this.state === "established");
  }

  sendCancel(commandId: string, reason: string): void {
    this.sent.delete(commandId);
    this.write(create(HubMessageSchema, { kind: { case: "cancel", value: { commandId, reason } } }));
  }

  drain(delayMs: number, reason: string): void {
    if (this.state === "closed") return;
    this.write(create(HubMessageSchema, { kind: { case: "drain", value: { reconnectAfterMs: delayMs, reason } } }));
    this.finish(`Drained: ${reason}`);
  }

  fail(code: "permission_denied" | "unauthenticated" | "aborted" | "invalid_argument", message: string): void {
    if (this.state === "closed") return;
    this.log.warn({ code }, message);
    this.fleet.deps.metrics.streamEvents.inc({ event: `closed_${code}` });
    const call = this.call;
    this.cleanup(message);
    call.emit("error", { code: grpcCode(code), details: message });
  }

  private failWith(err: unknown): void {
    if (err instanceof DomainError) {
      const code =
        err.code === "permission_denied" || err.code === "unauthenticated" || err.code === "invalid_argument"
          ? err.code
          : "aborted";
      this.fail(code, err.message);
      return;
    }
    // The detail (maybe database text) stays in the hub's log; the agent learns only that it may retry.
    this.log.error({ err, session: this.sessionId }, "Agent stream failed");
    this.fail("aborted", `Agent stream closed: hub error (session ${this.sessionId}); reconnect later`);
  }

  private write(message: HubMessage): void {
    if (this.state === "closed" || !this.call.writable) return;
    this.call.write(message);
  }

  /** Ends the stream with OK (drain, or the agent half-closed). */
  private finish(reason: string): void {
    if (this.state === "closed") return;
    this.cleanup(reason);
    this.call.end();
  }

  private cleanup(reason: string): void {
    if (this.state === "closed") return;
    const wasEstablished = this.state === "established";
    this.state = "closed";
    clearTimeout(this.helloTimer);
    if (!wasEstablished) return;
    this.fleet.unregister(this);
    this.fleet.deps.metrics.connectedAgents.dec({ role: this.role });
    this.fleet.deps.metrics.streamEvents.inc({ event: "close" });
    this.log.info({ reason }, "Agent stream closed");
    // While the hub drains for shutdown, stop() closes all of its sessions in one transaction.
    if (this.fleet.isDraining) return;
    this.fleet.track(
      closeSession(this.fleet.knex, this.agentId, this.sessionId, this.fleet.deps.clock.now()).catch((err) =>
        this.log.warn({ err }, "Could not record the agent as disconnected; liveness will take it offline"),
      ),
    );
  }
}
