import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { leasedTask } from "../background/leased-task.js";
import type { PeriodicTask } from "../background/periodic-task.js";
import { refreshStoragePools } from "./storage-pool-refresh.js";

export interface StoragePoolRefresherDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  lockKey: number;
  /** How often a pass looks for gateways that connected or whose listing is due. */
  intervalMs: number;
  /** How old a gateway's listing may get before it is asked again. */
  refreshMs: number;
}

/** The background loop that keeps storage_pools in step with what the ceph_gateways report. */
export class StoragePoolRefresher {
  private readonly task: PeriodicTask;

  constructor(deps: StoragePoolRefresherDeps) {
    this.task = leasedTask({
      name: "storage-pool-refresher",
      intervalMs: deps.intervalMs,
      knex: deps.knex,
      lockKey: deps.lockKey,
      log: deps.log,
      run: (trx) => refreshStoragePools(trx, deps.clock.now(), deps.refreshMs),
    });
  }

  start(): void {
    this.task.start();
  }

  runOnce(): Promise<void> {
    return this.task.runOnce();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }
}
