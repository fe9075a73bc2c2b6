import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { openSessions, type SessionOutcome, type SessionRequest } from "./open-sessions.js";

export interface QueuedHello extends SessionRequest {
  /** False once the stream closed (agent gave up, Hello timeout): its Hello is dropped unprocessed. */
  isOpen(): boolean;
}

/** A refused Hello carries a DomainError; a failed batch the database's error; `dropped` a closed stream's. */
export type HelloOutcome = SessionOutcome | { ok: false; error: unknown } | { ok: false; dropped: true };

interface Waiting {
  hello: QueuedHello;
  settle: (outcome: HelloOutcome) => void;
}

export interface HelloBatcherOptions {
  knex: Knex;
  clock: Clock;
  log: Logger;
  hubId: () => string;
  /** Most Hellos per transaction. */
  maxBatch?: number;
  /** Called after each batch's streams were welcomed (they are registered by then). */
  afterBatch?: (agentIds: string[]) => void;
}

/**
 * Turns Hellos into sessions in batches: one transaction at a time takes every Hello that arrived
 * meanwhile (up to maxBatch). A reconnect storm then costs the database a few statements per
 * batch instead of seven round trips per agent, and Hellos of streams that closed while they
 * waited are dropped instead of written and undone, so an overloaded hub does not spend its time
 * on agents that already left (the congestion collapse bench/fleet measured at 6 000 agents).
 */
export class HelloBatcher {
  private queue: Waiting[] = [];
  private running = false;
  private readonly maxBatch: number;

  constructor(private readonly o: HelloBatcherOptions) {
    this.maxBatch = o.maxBatch ?? 2000;
  }

  /** Resolves when the Hello's batch committed: the session is open, or refused with a reason; `dropped` if its stream closed first. */
  admit(hello: QueuedHello): Promise<HelloOutcome> {
    return new Promise((settle) => {
      this.queue.push({ hello, settle });
      if (!this.running) {
        // Start after this I/O phase, so Hellos read in the same turn share the first batch too.
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const taken = this.queue.splice(0, this.maxBatch);
        const batch = taken.filter((w) => {
          if (w.hello.isOpen()) return true;
          w.settle({ ok: false, dropped: true });
          return false;
        });
        if (batch.length === 0) continue;
        await this.runBatch(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async runBatch(batch: Waiting[]): Promise<void> {
    const now = this.o.clock.now();
    const started = performance.now();
    let outcomes: SessionOutcome[];
    try {
      outcomes = await this.o.knex.transaction((trx) =>
        openSessions(
          trx,
          this.o.hubId(),
          batch.map((w) => w.hello),
          now,
        ),
      );
    } catch (err) {
      if (batch.length > 1 && isDataError(err)) {
        // Some row's data was refused (what the edge rule missed): one bad Hello must not fail the
        // honest ones in its batch, so each runs alone and only the bad one fails.
        this.o.log.warn({ err, hellos: batch.length }, "A Hello batch was refused; admitting its Hellos one by one");
        for (const w of batch) await this.runBatch([w]);
        return;
      }
      // The whole batch failed (database away, deadlock): each stream closes and its agent retries.
      this.o.log.warn({ err, hellos: batch.length }, "Could not open agent sessions");
      for (const w of batch) w.settle({ ok: false, error: err });
      return;
    }
    batch.forEach((w, i) => w.settle(outcomes[i]!));
    this.o.log.debug(
      {
        hellos: batch.length,
        opened: outcomes.filter((o) => o.ok).length,
        ms: Math.round(performance.now() - started),
        queued: this.queue.length,
      },
      "Agent sessions opened",
    );
    const opened = batch.filter((_, i) => outcomes[i]!.ok).map((w) => w.hello.agentId);
    // Settled promises continue in microtasks; by the next macrotask every stream has registered.
    if (opened.length > 0 && this.o.afterBatch) setImmediate(() => this.o.afterBatch!(opened));
  }
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity): the rows' fault, not the database's. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && /^2[23]/.test(code);
}
