import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { leasedTask, type LeaseOutcome } from "../background/leased-task.js";
import type { PeriodicTask } from "../background/periodic-task.js";
import type { BoxBinding } from "./cloud-box.js";
import { expireBindings } from "./cloud-box-bindings.js";

export interface BindingExpiryOptions {
  knex: Knex;
  clock: Clock;
  log: Logger;
  lockKey: number;
  intervalMs: number;
  onPass?: (outcome: LeaseOutcome<BoxBinding[]>) => void;
}

/**
 * The loop that ends expired temporary bindings (000 §2.5.3), each with its audit row; the lease
 * makes N hubs share it. Boxes never wait for it: a binding past its expiry is not live anyway.
 */
export function startBindingExpiry(o: BindingExpiryOptions): PeriodicTask {
  const task = leasedTask({
    name: "cloud-box-binding-expiry",
    intervalMs: o.intervalMs,
    knex: o.knex,
    lockKey: o.lockKey,
    log: o.log,
    run: async (trx) => {
      const ended = await expireBindings(trx, o.clock.now());
      if (ended.length > 0) o.log.info({ bindings: ended.length }, "Expired cloud box bindings ended");
      return ended;
    },
    ...(o.onPass ? { onPass: o.onPass } : {}),
  });
  task.start();
  return task;
}
