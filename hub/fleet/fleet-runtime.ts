import { X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import type { HostMetricsSample } from "../../lib/host-facts/host-facts.js";
import type { Database } from "../db/database.js";
import type { HubMetrics } from "../observability/hub-metrics.js";
import type { HubCa } from "../pki/hub-ca.js";
import { caSubjectOf, type CaSubject } from "./agent-identity.js";
import type { AgentRole, EventSeverity } from "./fleet-enums.js";
import { AgentLiveness } from "./agent-liveness.js";
import { closeHubSessions } from "./agent-store.js";
import { agentsWithPendingCommands, expireOverdue, purgeFinished } from "./command-store.js";
import { HelloBatcher } from "./hello-batcher.js";
import { withLease } from "../background/lease.js";
import { ADVISORY_LOCK_KEYS } from "../db/advisory-lock-keys.js";
import { recordFleetEvents } from "./fleet-event-log.js";
import { listenFleet, notifyFleet, type FleetNotice } from "./fleet-notifier.js";
import { PeriodicTask } from "../background/periodic-task.js";
import { whereUuidIn } from "../db/uuid-array.js";

/** Finished commands are kept this long for ListCommands and investigations, then purged. */
const FINISHED_COMMAND_RETENTION_MS = 30 * 24 * 3600 * 1000;

/** A stream this hub holds, as the runtime drives it (implemented by the stream edge). */
export interface LocalSession {
  readonly agentId: string;
  readonly sessionId: string;
  readonly role: AgentRole;
  /** Sends unfinished commands not yet sent on this stream. */
  pump(): void;
  sendCancel(commandId: string, reason: string): void;
  /** Ends the stream with an error status the agent can read. */
  fail(code: "permission_denied" | "unauthenticated" | "aborted", message: string): void;
  /** Tells the agent to come back after `delayMs` and ends the stream. */
  drain(delayMs: number, reason: string): void;
}

/** Agent events (health changes, VM lifecycle…) for whoever wants them; the periphery hooks in here. */
export interface AgentEventRecord {
  agentId: string;
  kind: string;
  severity: EventSeverity;
  message: string;
  attributes: Record<string, string>;
  occurredAt: Date;
}

export interface FleetOptions {
  heartbeatIntervalMs: number;
  metricsIntervalMs: number;
  restartGraceMs: number;
  /** Drain spreads agents' reconnects uniformly over this window. */
  drainSpreadMs: number;
  certificateValidDays: number;
}

export interface FleetRuntimeDeps {
  db: Database;
  ca: HubCa;
  clock: Clock;
  log: Logger;
  metrics: HubMetrics;
  options: FleetOptions;
  /** Called with each Metrics message (hub/monitoring's ingest). */
  onMetrics?: (agentId: string, sample: HostMetricsSample) => Promise<void>;
  /** Agent Event messages; by default appended to fleet_events. */
  onEvent?: (event: AgentEventRecord) => Promise<void>;
}

/**
 * The hub side of the fleet: the streams this hub holds, liveness, the expiry loop and the
 * NOTIFY listener that routes commands created by any hub to the hub holding the agent.
 */
export class FleetRuntime {
  readonly sessions = new Map<string, LocalSession>();
  readonly liveness: AgentLiveness;
  /** Hellos become sessions in batches (one transaction for all that arrived meanwhile). */
  readonly hellos: HelloBatcher;
  /** The hub CA's subject, to cross-check the issuer of each TLS-verified client certificate. */
  readonly caSubject: CaSubject;
  /** Where agent Event messages go: deps.onEvent, or fleet_events. */
  readonly onEvent: (event: AgentEventRecord) => Promise<void>;
  hubId = "";
  private markReady!: () => void;
  /** Resolves once start() knows the hub id; streams wait for it before recording a session. */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));
  private tasks: PeriodicTask[] = [];
  private unlisten: (() => Promise<void>) | undefined;

  constructor(readonly deps: FleetRuntimeDeps) {
    this.onEvent =
      deps.onEvent ??
      ((e) =>
        recordFleetEvents(deps.db.knex, [
          {
            agentId: e.agentId,
            kind: e.kind,
            severity: e.severity,
            message: e.message,
            details: e.attributes,
            occurredAt: e.occurredAt,
          },
        ]));
    const interval = deps.options.heartbeatIntervalMs;
    this.liveness = new AgentLiveness(deps.db.knex, deps.clock, {
      heartbeatIntervalMs: interval,
      offlineAfterMs: 3 * interval,
      restartGraceMs: deps.options.restartGraceMs,
      startedAt: deps.clock.now(),
    });
    this.caSubject = caSubjectOf(new X509Certificate(deps.ca.certPem));
    this.hellos = new HelloBatcher({
      knex: deps.db.knex,
      clock: deps.clock,
      log: deps.log,
      hubId: () => this.hubId,
      afterBatch: (agentIds) =>
        this.track(
          this.pumpWelcomed(agentIds).catch((err) =>
            deps.log.warn({ err }, "First command delivery failed; the poll retries"),
          ),
        ),
    });
  }

  /** The first pump of just-welcomed streams, for the agents that have unfinished commands (one query per batch). */
  private async pumpWelcomed(agentIds: string[]): Promise<void> {
    this.liveness.noteAgentsBack();
    const pending = await agentsWithPendingCommands(this.knex, agentIds, this.deps.clock.now());
    for (const id of pending) this.sessions.get(id)?.pump();
  }

  get knex() {
    return this.deps.db.knex;
  }

  async start(hubId: string): Promise<void> {
    this.hubId = hubId;
    const stale = await closeHubSessions(this.knex, hubId, this.deps.clock.now());
    if (stale > 0) this.deps.log.info({ stale }, "Closed agent sessions a previous run of this hub left behind");
    this.unlisten = await listenFleet(this.deps.db, (n) => this.onNotice(n));
    const interval = this.deps.options.heartbeatIntervalMs;
    // Flushing twice per interval keeps the stored heartbeat well inside the offline window.
    const flushMs = Math.max(50, Math.min(5000, Math.floor(interval / 2)));
    this.tasks = [
      new PeriodicTask("heartbeat-flush", flushMs, async () => void (await this.liveness.flush()), this.deps.log),
      new PeriodicTask(
        "liveness-sweep",
        Math.max(100, Math.min(5000, interval)),
        async () => this.sweepLiveness(),
        this.deps.log,
      ),
      new PeriodicTask(
        "command-expiry",
        Math.max(200, Math.min(5000, interval)),
        async () => this.expireCommands(),
        this.deps.log,
      ),
      // Safety net for a lost NOTIFY (listener reconnect): pump the held agents that have queued work.
      new PeriodicTask(
        "session-poll",
        Math.max(200, Math.min(5000, 5 * interval)),
        async () => this.pollQueued(),
        this.deps.log,
      ),
    ];
    for (const t of this.tasks) t.start();
    this.markReady();
  }

  register(session: LocalSession): void {
    const previous = this.sessions.get(session.agentId);
    this.sessions.set(session.agentId, session);
    if (previous && previous.sessionId !== session.sessionId)
      previous.fail("aborted", "Agent stream replaced by a newer session of the same agent");
  }

  private readonly inFlight = new Set<Promise<unknown>>();
  private draining = false;

  /** Keeps background writes (session close) in view so stop() waits for them before the database closes. */
  track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Resolves once the background writes already started (and any they start) have finished. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  unregister(session: LocalSession): void {
    if (this.sessions.get(session.agentId) === session) this.sessions.delete(session.agentId);
  }

  private onNotice(notice: FleetNotice): void {
    const session = this.sessions.get(notice.agentId);
    if (!session) return;
    switch (notice.t) {
      case "commands":
        session.pump();
        return;
      case "cancel":
        session.sendCancel(notice.commandId, notice.reason);
        return;
      case "revoke":
        session.fail("permission_denied", "Agent certificate revoked: reconnects are refused");
        return;
      case "session":
        if (notice.sessionId !== session.sessionId)
          session.fail("aborted", "Agent stream replaced by a newer session of the same agent");
        return;
      default: {
        const never: never = notice;
        this.deps.log.warn({ notice: never }, "Unknown fleet notice ignored");
      }
    }
  }

  private async sweepLiveness(): Promise<void> {
    await this.liveness.flush();
    const offline = await this.liveness.sweep();
    if (offline.length > 0) this.deps.log.warn({ agents: offline }, "Agents offline: no heartbeat for three intervals");
  }

  private async expireCommands(): Promise<void> {
    const now = this.deps.clock.now();
    const res = await withLease(this.knex, ADVISORY_LOCK_KEYS.commandExpiry, async (trx) => {
      const expired = await expireOverdue(trx, now);
      await purgeFinished(trx, new Date(now.getTime() - FINISHED_COMMAND_RETENTION_MS));
      for (const c of expired) {
        if (c.reachedAgent)
          await notifyFleet(trx, { t: "cancel", agentId: c.agentId, commandId: c.id, reason: "deadline passed" });
      }
      return expired;
    });
    if (!res.ran) return;
    for (const c of res.value) {
      this.deps.metrics.commandsFinished.inc({ outcome: "expired" });
      this.deps.metrics.commandLatencySeconds.observe({ kind: c.kind }, (now.getTime() - c.createdAt.getTime()) / 1000);
    }
  }

  /**
   * Safety net for lost notices (the LISTEN connection can drop): streams whose session row no
   * longer names them were revoked or taken over elsewhere and are closed; held agents with
   * queued commands are pumped.
   */
  private async pollQueued(): Promise<void> {
    if (this.sessions.size === 0) return;
    // Snapshot first: a session registers only after its row committed, so the query below sees it.
    const held = [...this.sessions.values()];
    const rows = await this.knex("agent_sessions")
      .where({ hub_id: this.hubId })
      .select<{ agent_id: string; session_id: string }[]>("agent_id", "session_id");
    const current = new Set(rows.map((r) => `${r.agent_id}/${r.session_id}`));
    const stale = held.filter((s) => !current.has(`${s.agentId}/${s.sessionId}`));
    if (stale.length > 0) {
      const revoked = new Set(
        (
          await whereUuidIn(
            this.knex("agents"),
            "id",
            stale.map((s) => s.agentId),
          )
            .where({ status: "revoked" })
            .select<{ id: string }[]>("id")
        ).map((r) => r.id),
      );
      for (const s of stale) {
        if (revoked.has(s.agentId)) s.fail("permission_denied", "Agent certificate revoked: reconnects are refused");
        else s.fail("aborted", "Agent stream replaced by a newer session of the same agent");
      }
    }
    await this.pumpHeldWithQueued();
  }

  private async pumpHeldWithQueued(): Promise<void> {
    const rows = await this.knex("agent_commands as c")
      .join("agent_sessions as s", "s.agent_id", "c.agent_id")
      .where("s.hub_id", this.hubId)
      .where("c.state", "queued")
      .distinct<{ agent_id: string }[]>("c.agent_id");
    for (const r of rows) this.sessions.get(r.agent_id)?.pump();
  }

  /** Hub shutdown: every agent is told to come back after a delay spread over the window. */
  drainAgents(): void {
    this.draining = true;
    const spread = this.deps.options.drainSpreadMs;
    for (const session of [...this.sessions.values()]) {
      session.drain(Math.floor(Math.random() * spread), "Hub shutting down");
    }
  }

  /** Set once the hub drains for shutdown: streams that close from then on leave their session to stop(). */
  get isDraining(): boolean {
    return this.draining;
  }

  async stop(): Promise<void> {
    for (const t of this.tasks) await t.stop();
    await Promise.allSettled([...this.inFlight]);
    if (this.hubId) {
      await closeHubSessions(this.knex, this.hubId, this.deps.clock.now()).catch((err) =>
        this.deps.log.warn({ err }, "Could not record drained agents as disconnected; the next start does"),
      );
    }
    await this.liveness.flush().catch((err) => this.deps.log.warn({ err }, "Final heartbeat flush failed"));
    await this.unlisten?.();
  }
}
