import type { Knex } from "knex";
import type { Logger } from "pino";
import { leasedTask } from "./leased-task.js";
import type { PeriodicTask } from "./periodic-task.js";

export interface LeasedLoopOptions {
  name: string;
  intervalMs: number;
  knex: Knex;
  /** From hub/db/advisory-lock-keys.ts. */
  lockKey: number;
  log: Logger;
  /** Called after each pass (tests). */
  onPass?: () => void;
}

/**
 * A level-triggered background loop (DESIGN.md "Desired state"): each pass runs under the lease
 * (one hub at a time), every `intervalMs`, or soon after `wake()` when an API mutation wants it.
 * Subclasses write `pass`; passes never overlap.
 */
export abstract class LeasedLoop {
  private readonly task: PeriodicTask;

  constructor(o: LeasedLoopOptions) {
    this.task = leasedTask({
      name: o.name,
      intervalMs: o.intervalMs,
      knex: o.knex,
      lockKey: o.lockKey,
      log: o.log,
      run: (trx) => this.pass(trx),
      onPass: () => o.onPass?.(),
    });
  }

  /** One pass inside the lease's transaction. */
  protected abstract pass(trx: Knex.Transaction): Promise<unknown>;

  start(): void {
    this.task.start();
  }

  /** Runs a pass soon (after an API mutation). */
  wake(): void {
    setImmediate(() => void this.task.runOnce());
  }

  /** One pass now; resolves when it finished (tests, and the API's wake). */
  runOnce(): Promise<void> {
    return this.task.runOnce();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }
}

/**
 * Runs `step` for each item in a savepoint of its own, so one that fails is logged and retried next
 * pass without undoing the others.
 */
export async function eachInSavepoint<T>(
  trx: Knex.Transaction,
  items: readonly T[],
  step: (sp: Knex.Transaction, item: T) => Promise<unknown>,
  failed: (err: unknown, item: T) => void,
): Promise<void> {
  for (const item of items) {
    try {
      await trx.transaction((sp) => step(sp, item));
    } catch (err) {
      failed(err, item);
    }
  }
}
