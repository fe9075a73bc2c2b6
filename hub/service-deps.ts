import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../lib/clock/clock.js";
import type { Database } from "./db/database.js";
import type { FleetAdmin } from "./fleet/fleet-admin.js";
import type { HubMetrics } from "./observability/hub-metrics.js";

/** What admin API services are built from; assembled once in hub/hub.ts. */
export interface ServiceDeps {
  db: Database;
  knex: Knex;
  clock: Clock;
  log: Logger;
  metrics: HubMetrics;
  tokenTtlSeconds: number;
  fleetAdmin: FleetAdmin;
  hubCaFingerprint: string;
  /** Wakes the instance reconciler after an instance mutation (absent: it converges on its own timer). */
  wakeInstanceReconciler?: () => void;
  /** Wakes the disk reconciler after a disk mutation (absent: it converges on its own timer). */
  wakeDiskReconciler?: () => void;
}
