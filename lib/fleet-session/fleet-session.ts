import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { AgentMessageSchema, type AgentMessage, type HubMessage } from "../../gen/edgehub/fleet/v1/agent_pb.js";
import { FullJitterBackoff } from "../backoff/full-jitter-backoff.js";
import { inventoryToProto, metricsToProto } from "../host-facts/host-facts-proto.js";
import { CommandDispatcher, type CommandReport } from "./command-dispatcher.js";
import { CommandJournal } from "./command-journal.js";
import { enrollAgent, isRetryableEnrollmentError } from "./enroll-agent.js";
import type { FleetSessionOptions } from "./fleet-session-options.js";
import { REPORT_TO_WIRE, ROLE_TO_WIRE, SEVERITY_TO_WIRE, type EventSeverity } from "./fleet-role.js";
import { HubClient } from "./hub-client.js";
import { StateDir, type StoredIdentity } from "./state-dir.js";

export type { FleetSessionOptions, SessionObserver } from "./fleet-session-options.js";

/** idle → enrolling → connecting → established → waiting (backoff or drain) → connecting … → stopped. */
export type SessionState = "idle" | "enrolling" | "connecting" | "established" | "waiting" | "stopped";

const TRANSITIONS: Record<SessionState, readonly SessionState[]> = {
  idle: ["enrolling", "connecting", "stopped"],
  enrolling: ["connecting", "stopped"],
  connecting: ["established", "waiting", "stopped"],
  established: ["waiting", "stopped"],
  waiting: ["connecting", "stopped"],
  stopped: [],
};

// A hub that took the stream but never welcomes is rare (a wedged hub); a hub busy admitting a
// whole fleet after a restart is not, and giving up on it only adds another TLS handshake.
const WELCOME_TIMEOUT_MS = 60_000;
/** How long a TCP + TLS + HTTP/2 setup may take before the attempt is given up. */
const CONNECT_TIMEOUT_MS = 90_000;

/**
 * The agent-side session core shared by edgehub-agent and cloudbox-firmware-client: enrollment,
 * the mTLS stream (Hello → Welcome), heartbeats and metrics at the hub's intervals, command
 * dispatch with the finished-command journal, reconnects with full-jitter backoff, and Drain.
 */
export class FleetSession {
  state: SessionState = "idle";
  identity: StoredIdentity | undefined;
  /** The hub this session last got a Welcome from. */
  hubId = "";
  private readonly stateDir: StateDir;
  private readonly dispatcher: CommandDispatcher;
  private readonly backoff: FullJitterBackoff;
  private call: grpc.ClientDuplexStream<AgentMessage, HubMessage> | undefined;
  private client: HubClient | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopWatching: (() => void) | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private heartbeatSeq = 0n;
  private readonly hubs: string[];
  /** Index into `hubs` of the one to try next; it stays put while connections succeed. */
  private hubIndex = 0;

  constructor(private readonly options: FleetSessionOptions) {
    this.stateDir = new StateDir(options.stateDir);
    this.hubs = options.hub
      .split(",")
      .map((h) => h.trim())
      .filter(Boolean);
    if (this.hubs.length === 0) throw new Error("No hub address given");
    this.backoff = options.backoff ?? new FullJitterBackoff();
    const journal = new CommandJournal(this.stateDir.journalFile);
    this.dispatcher = new CommandDispatcher(
      options.executors,
      journal,
      (r) => this.sendReport(r),
      options.log,
      options.observer?.commandFinished?.bind(options.observer),
    );
  }

  private transition(to: SessionState): void {
    if (!TRANSITIONS[this.state].includes(to)) throw new Error(`Illegal session transition ${this.state} → ${to}`);
    this.options.log.debug({ from: this.state, to }, "Session state");
    this.state = to;
  }

  /** Enrolls if the state dir holds no identity, then keeps a session until stop(). */
  async start(): Promise<void> {
    this.identity = this.stateDir.loadIdentity();
    if (!this.identity) {
      if (!this.options.joinToken)
        throw new Error(`No identity in ${this.options.stateDir} and no --join-token to enroll with`);
      this.transition("enrolling");
      this.identity = await this.enrollWithRetries(this.options.joinToken);
      this.options.log.info({ agentId: this.identity.agentId }, "Enrolled with the hub");
    } else if (this.identity.role !== this.options.role) {
      throw new Error(`The state dir holds a ${this.identity.role} identity, not ${this.options.role}`);
    }
    this.loop = this.run();
  }

  /** First boot may come before the hub is up: unreachable hubs are retried with backoff, refusals are final. */
  private async enrollWithRetries(joinToken: string): Promise<StoredIdentity> {
    for (let attempt = 0; ; attempt++) {
      const hub = this.hubs[attempt % this.hubs.length]!;
      try {
        const identity = await enrollAgent({
          hub,
          joinToken,
          role: this.options.role,
          hostname: this.options.hostname,
          hubCaFile: this.options.hubCaFile,
          stateDir: this.stateDir,
          cloudBox: await this.options.cloudBoxFacts?.(),
        });
        this.backoff.reset();
        return identity;
      } catch (err) {
        if (!isRetryableEnrollmentError(err) || (this.state as SessionState) === "stopped") throw err;
        const delay = this.backoff.next();
        this.options.log.warn(
          { hub, delayMs: delay, reason: (err as Error).message },
          "Cannot reach the hub to enroll; retrying",
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async run(): Promise<void> {
    while (this.state !== "stopped") {
      this.transition("connecting");
      const outcome = await this.connectOnce(this.hubs[this.hubIndex]!);
      this.options.observer?.disconnected?.(outcome.reason);
      if ((this.state as SessionState) === "stopped") break;
      // A hub that failed us (or drained) is not tried first next time; another one of the site is.
      this.hubIndex = (this.hubIndex + 1) % this.hubs.length;
      this.transition("waiting");
      const delay = outcome.drainDelayMs ?? this.backoff.next();
      this.options.log.info({ delayMs: delay, reason: outcome.reason }, "Hub stream ended; reconnecting");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private connectOnce(hub: string): Promise<{ reason: string; drainDelayMs?: number }> {
    const id = this.identity!;
    return new Promise((resolve) => {
      let drainDelayMs: number | undefined;
      let settled = false;
      const finish = (reason: string) => {
        if (settled) return;
        settled = true;
        this.stopWatching?.();
        this.stopWatching = undefined;
        this.clearTimers();
        this.call = undefined;
        this.client?.close();
        this.client = undefined;
        resolve(drainDelayMs === undefined ? { reason } : { reason, drainDelayMs });
      };
      this.client = new HubClient(hub, id);
      const call = this.client.connect();
      this.call = call;
      call.on("data", (m: HubMessage) => {
        const d = this.onHubMessage(m);
        if (d !== undefined) drainDelayMs = d;
      });
      call.on("error", (err: grpc.ServiceError) => {
        if (err.code === grpc.status.PERMISSION_DENIED || err.code === grpc.status.UNAUTHENTICATED) {
          this.options.log.error({ code: grpc.status[err.code], details: err.details }, "The hub refused this agent");
          if (err.code === grpc.status.PERMISSION_DENIED)
            this.options.onFatal?.(new Error(`The hub refused this agent: ${err.details}`));
        }
        finish(`${grpc.status[err.code] ?? err.code}: ${err.details ?? err.message}`);
      });
      call.on("end", () => finish("hub ended the stream"));
      call.on("close", () => finish("stream closed"));
      // The Welcome timeout starts once the connection is up: under a reconnect storm the hub's TLS
      // handshakes queue, and abandoning a handshake in progress only to start another one from
      // scratch is how the fleet overloaded a restarted hub for good (bench/fleet, 6 000 agents).
      const client = this.client;
      const stopWatching = client.onceConnected(CONNECT_TIMEOUT_MS, (outcome) => {
        if (settled) return;
        if (outcome === "timeout") {
          call.cancel();
          finish(`no connection to the hub within ${CONNECT_TIMEOUT_MS} ms`);
          return;
        }
        // A hub that accepts the stream but never welcomes us is as good as down.
        const welcomeTimer = setTimeout(() => {
          if (this.state !== "established" && !settled) {
            call.cancel();
            finish(`no Welcome within ${WELCOME_TIMEOUT_MS} ms`);
          }
        }, WELCOME_TIMEOUT_MS);
        welcomeTimer.unref();
        this.timers.push(welcomeTimer);
      });
      this.stopWatching = stopWatching;
      void this.sendHello(call).catch((err) => {
        call.cancel();
        finish(`Hello failed: ${(err as Error).message}`);
      });
    });
  }

  private async sendHello(call: grpc.ClientDuplexStream<AgentMessage, HubMessage>): Promise<void> {
    const inventory = await this.options.collectInventory();
    call.write(
      create(AgentMessageSchema, {
        kind: {
          case: "hello",
          value: {
            agentId: this.identity!.agentId,
            role: ROLE_TO_WIRE[this.options.role],
            agentVersion: this.options.agentVersion,
            inventory: inventoryToProto(inventory),
            lastFinishedCommandId: this.dispatcher.lastFinished ?? "",
            cloudBox: await this.options.cloudBoxFacts?.(),
          },
        },
      }),
    );
  }

  /** Returns a drain delay when the hub asks us to go away. */
  private onHubMessage(m: HubMessage): number | undefined {
    const kind = m.kind;
    if (this.state !== "established" && kind.case !== "welcome") {
      this.options.log.warn({ got: kind.case }, "Hub sent a message before Welcome; closing the stream");
      this.call?.cancel();
      return undefined;
    }
    switch (kind.case) {
      case "welcome": {
        this.transition("established");
        this.hubId = kind.value.hubId;
        this.backoff.reset();
        this.options.observer?.connected?.(kind.value.hubId);
        this.options.log.info(
          { hub: kind.value.hubId, heartbeatMs: kind.value.heartbeatIntervalMs },
          "Connected to the hub",
        );
        this.startTimers(kind.value.heartbeatIntervalMs || 10_000, kind.value.metricsIntervalMs || 30_000);
        return undefined;
      }
      case "command": {
        const c = kind.value;
        this.dispatcher.dispatch({
          commandId: c.commandId,
          payload: c.payload,
          deadline: c.expireTime ? timestampDate(c.expireTime) : undefined,
        });
        return undefined;
      }
      case "cancel":
        this.dispatcher.cancel(kind.value.commandId, kind.value.reason);
        return undefined;
      case "drain":
        this.options.log.info(
          { delayMs: kind.value.reconnectAfterMs, reason: kind.value.reason },
          "Hub asked us to drain",
        );
        return kind.value.reconnectAfterMs;
      case undefined:
        return undefined;
      default: {
        const never: never = kind;
        this.options.log.warn({ kind: (never as { case: string }).case }, "Unknown hub message ignored");
        return undefined;
      }
    }
  }

  private startTimers(heartbeatMs: number, metricsMs: number): void {
    const beat = () => {
      this.write(
        create(AgentMessageSchema, {
          kind: {
            case: "heartbeat",
            value: { sequence: ++this.heartbeatSeq, sendTime: timestampFromDate(new Date()) },
          },
        }),
      );
      this.options.observer?.heartbeatSent?.();
    };
    beat();
    this.timers.push(setInterval(beat, heartbeatMs));
    const sample = this.options.sampleMetrics;
    if (sample) {
      const domains = this.options.sampleDomains;
      const send = () =>
        void Promise.all([
          sample(),
          domains?.().catch((err) => {
            this.options.log.warn({ err }, "Domain stats sample failed");
            return [];
          }),
          this.options.sampleCloudBoxMetrics?.().catch((err) => {
            this.options.log.warn({ err }, "Device metrics sample failed");
            return undefined;
          }),
        ]).then(
          ([s, d, box]) => {
            const pb = metricsToProto(s);
            if (d) pb.domains = d;
            if (box) pb.cloudBox = box;
            this.write(create(AgentMessageSchema, { kind: { case: "metrics", value: { sample: pb } } }));
          },
          (err) => this.options.log.warn({ err }, "Metrics sample failed"),
        );
      this.timers.push(setInterval(send, metricsMs));
    }
  }

  private clearTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private sendReport(r: CommandReport): void {
    this.write(
      create(AgentMessageSchema, {
        kind: {
          case: "commandUpdate",
          value: { commandId: r.commandId, state: REPORT_TO_WIRE[r.state], result: r.result, error: r.error },
        },
      }),
    );
  }

  /** Sends an event (health change, lifecycle) on the current stream; dropped when disconnected. */
  sendEvent(event: {
    kind: string;
    severity: EventSeverity;
    message: string;
    attributes?: Record<string, string>;
  }): void {
    this.write(
      create(AgentMessageSchema, {
        kind: {
          case: "event",
          value: {
            ...event,
            severity: SEVERITY_TO_WIRE[event.severity],
            attributes: event.attributes ?? {},
            eventTime: timestampFromDate(new Date()),
          },
        },
      }),
    );
  }

  private write(m: AgentMessage): void {
    // Only on an established stream: reports lost here are answered from the journal on re-delivery.
    if (this.state !== "established" || !this.call || !this.call.writable) return;
    this.call.write(m);
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    this.dispatcher.abortAll("agent stopping");
    this.clearTimers();
    this.call?.end();
    this.call?.cancel();
    this.wake?.();
    await this.loop;
  }
}
