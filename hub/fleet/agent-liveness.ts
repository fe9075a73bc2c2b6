import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { uuidArrayParam } from "../db/uuid-array.js";
import { moveAgents, REVIVABLE, statusesAllowing } from "./agent-lifecycle.js";
import { AGENT_BACK, AGENT_LOST, moveMachinesOfAgents } from "../infrastructure/compute-machine-lifecycle.js";
import * as cloudBoxes from "../cloud-box-devices/cloud-box-lifecycle.js";
import { recordFleetEvents } from "./fleet-event-log.js";
import { withLease } from "../background/lease.js";
import { ADVISORY_LOCK_KEYS } from "../db/advisory-lock-keys.js";

const SWEEP_BATCH = 2000;

export interface LivenessOptions {
  heartbeatIntervalMs: number;
  /** Silence after which an agent is offline: three missed heartbeats. */
  offlineAfterMs: number;
  /** After this hub starts, nobody is declared offline by it for this long (agents are coming back). */
  restartGraceMs: number;
  /**
   * The grace goes on past restartGraceMs while agents are still coming back (one came back within
   * offlineAfterMs), up to this long after the start; 5 × restartGraceMs by default.
   */
  maxRestartGraceMs?: number;
  startedAt: Date;
}

/**
 * Heartbeats stay in memory and go to the database in one statement per flush, so writes stay
 * flat as the fleet grows; the offline sweep runs under a lease so one hub of N does it.
 */
export class AgentLiveness {
  private pending = new Map<string, Date>();
  private lastComeBackAt: number | undefined;

  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
    readonly options: LivenessOptions,
  ) {}

  /** Agents opened sessions on this hub (a Hello batch committed): a restart's reconnects are still arriving. */
  noteAgentsBack(): void {
    this.lastComeBackAt = this.clock.now().getTime();
  }

  /**
   * Whether this hub is still in its restart grace: always for restartGraceMs, then for as long as
   * agents keep coming back (a 10 000-agent fleet needs longer than a fixed minute on a small hub),
   * never beyond maxRestartGraceMs.
   */
  inRestartGrace(now: Date): boolean {
    const sinceStart = now.getTime() - this.options.startedAt.getTime();
    if (sinceStart < this.options.restartGraceMs) return true;
    const max = this.options.maxRestartGraceMs ?? 5 * this.options.restartGraceMs;
    const recent =
      this.lastComeBackAt !== undefined && now.getTime() - this.lastComeBackAt < this.options.offlineAfterMs;
    return sinceStart < max && recent;
  }

  recordHeartbeat(agentId: string): void {
    this.pending.set(agentId, this.clock.now());
  }

  /**
   * Writes the buffered heartbeats; an agent liveness had marked offline is connected again
   * (returned) if it still has a session: a late heartbeat of a closed stream revives nobody.
   */
  async flush(): Promise<string[]> {
    if (this.pending.size === 0) return [];
    const batch = [...this.pending];
    this.pending = new Map();
    // Two array parameters whatever the fleet size (no VALUES list growing into the bind limit).
    const ids = uuidArrayParam(batch.map(([id]) => id));
    const ats = `{${batch.map(([, at]) => at.toISOString()).join(",")}}`;
    const res = (await this.knex.raw(
      `WITH v(id, at) AS (SELECT * FROM unnest(?::uuid[], ?::timestamptz[])),
         revived AS (SELECT a.id FROM agents a JOIN v ON a.id = v.id JOIN agent_sessions s ON s.agent_id = a.id WHERE a.status = ANY(?::text[])),
         updated AS (
           UPDATE agents AS a SET last_heartbeat_at = GREATEST(a.last_heartbeat_at, v.at),
             status = CASE WHEN a.id IN (SELECT id FROM revived) THEN 'connected' ELSE a.status END
           FROM v WHERE a.id = v.id AND a.status = ANY(?::text[])
           RETURNING a.id)
       SELECT id FROM revived WHERE id IN (SELECT id FROM updated)`,
      // The revive is a lifecycle move (offline → connected); heartbeats of a revoked agent are not recorded.
      [ids, ats, `{${REVIVABLE.join(",")}}`, `{${statusesAllowing("connected").join(",")}}`],
    )) as { rows: { id: string }[] };
    const revived = res.rows.map((r) => r.id);
    if (revived.length > 0) {
      await moveMachinesOfAgents(this.knex, revived, AGENT_BACK, this.clock.now());
      await cloudBoxes.moveBoxesOfAgents(this.knex, revived, cloudBoxes.AGENT_BACK, this.clock.now());
    }
    return revived;
  }

  /** Marks silent agents and their machines offline; returns the agents it took offline. */
  async sweep(): Promise<string[]> {
    const now = this.clock.now();
    if (this.inRestartGrace(now)) return [];
    const cutoff = new Date(now.getTime() - this.options.offlineAfterMs);
    const result = await withLease(this.knex, ADVISORY_LOCK_KEYS.fleetLiveness, async (trx) => {
      // A bounded batch per round (a whole site losing power is caught up over a few rounds)
      // keeps the statements below inside PostgreSQL's bind-parameter limit.
      const silent = trx("agents")
        .whereIn("status", statusesAllowing("offline"))
        .where((q) =>
          q
            .where("last_heartbeat_at", "<", cutoff)
            .orWhere((q2) => q2.whereNull("last_heartbeat_at").where("enrolled_at", "<", cutoff)),
        )
        .orderBy("id")
        .limit(SWEEP_BATCH)
        .select("id");
      const ids = await moveAgents(trx, silent, "offline", { updated_at: now });
      if (ids.length > 0) {
        await moveMachinesOfAgents(trx, ids, AGENT_LOST, now);
        await cloudBoxes.moveBoxesOfAgents(trx, ids, cloudBoxes.AGENT_LOST, now);
        await recordFleetEvents(
          trx,
          ids.map((agentId) => ({
            agentId,
            kind: "agent_offline",
            severity: "warning",
            occurredAt: now,
            message: `Agent offline: no heartbeat for ${Math.round(this.options.offlineAfterMs / 1000)} s`,
          })),
        );
      }
      return ids;
    });
    return result.ran ? result.value : [];
  }
}
