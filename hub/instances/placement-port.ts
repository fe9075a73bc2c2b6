import type { Knex } from "knex";
import type { Placement, PlacementRequest } from "../scheduler/placement-request.js";

export type { Placement, PlacementRequest };

// What instances need of the scheduler (hub/scheduler/): injected, so tests of the reconciler's
// failure paths can count calls; hub/services.ts and hub/hub.ts hand in the real functions.

export interface PlacementPort {
  /**
   * Chooses, charges and records, running `onPlaced` in the same transaction; on no fit throws
   * ResourceExhaustedError(reason NO_CAPACITY, metadata.scheduling_history_id).
   */
  placeInstance(
    db: Knex,
    req: PlacementRequest,
    onPlaced: (trx: Knex.Transaction, p: Placement) => Promise<void>,
  ): Promise<Placement>;
  /** Returns what placeInstance charged for this VM (idempotent; false when nothing was held). */
  releaseAllocation(trx: Knex.Transaction, vmId: string): Promise<boolean>;
}
