import type { Knex } from "knex";
import type { Logger } from "pino";
import { withLease } from "./lease.js";
import { PeriodicTask } from "./periodic-task.js";

export type LeaseOutcome<T> = { ran: true; value: T } | { ran: false };

export interface LeasedTaskOptions<T> {
  name: string;
  intervalMs: number;
  knex: Knex;
  /** From hub/db/advisory-lock-keys.ts. */
  lockKey: number;
  log: Logger;
  /** One pass, inside the transaction that holds the lease. */
  run: (trx: Knex.Transaction) => Promise<T>;
  /** After each pass (tests, metrics); `ran` is false when another hub held the lease. */
  onPass?: (outcome: LeaseOutcome<T>) => void;
}

/**
 * The hub's background loop: every `intervalMs` (the first pass after one interval: a hub's first
 * seconds belong to reconnecting agents), one pass under an advisory-lock lease, so N hubs share
 * the work and never do it twice at once. A failed pass is retried next round (WARN, not ERROR:
 * passes are idempotent and heal themselves).
 */
export function leasedTask<T>(options: LeasedTaskOptions<T>): PeriodicTask {
  return new PeriodicTask(
    options.name,
    options.intervalMs,
    async () => {
      const outcome = await withLease(options.knex, options.lockKey, options.run);
      options.onPass?.(outcome);
    },
    options.log,
  );
}
