import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { LeasedLoop } from "../background/leased-loop.js";
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
export class StoragePoolRefresher extends LeasedLoop {
  constructor(private readonly deps: StoragePoolRefresherDeps) {
    super({ ...deps, name: "storage-pool-refresher" });
  }

  protected pass(trx: Knex.Transaction): Promise<void> {
    return refreshStoragePools(trx, this.deps.clock.now(), this.deps.refreshMs);
  }
}
