import { performance } from "node:perf_hooks";
import type { Knex } from "knex";
import { newId } from "../db/ids.js";
import { ConflictError, FailedPreconditionError, NotFoundError, ResourceExhaustedError } from "../domain/errors.js";
import { choosePlacement, type PlacementDecision } from "./choose-placement.js";
import { chargeMachine } from "./machine-charge.js";
import type { Placement, PlacementRequest } from "./placement-request.js";
import { checkPlacementRequest } from "./placement-request-rules.js";
import { insertSchedulingRecord, storedRequest, type NewSchedulingRecord } from "./scheduling-history-store.js";
import { readSnapshot } from "./candidate-query.js";
import type { SnapshotPool } from "./scheduling-snapshot.js";

// placeInstance: snapshot → choosePlacement → guarded charge → history → the caller's onPlaced,
// all in one transaction. See README.md for why placements in a pool take turns.

/** Attempts before giving up when the chosen machine keeps changing under the charge. */
export const MAX_PLACEMENT_ATTEMPTS = 3;

/** The machine changed between snapshot and charge; the attempt's transaction rolls back. */
class LostRace extends Error {
  override readonly name = "LostRace";
}

type Attempt = { placed: Placement } | { decision: PlacementDecision; failureReason: string };

/**
 * Chooses a machine for `req`, charges it (machine and pool `allocated_*`, GPU rows, an allocation
 * row), records the attempt in scheduling_history and runs `onPlaced` in that same transaction.
 * Nothing fits: the failed attempt is recorded on its own and ResourceExhaustedError (NO_CAPACITY)
 * carries its id. Unknown pool: NotFoundError; a pool not active: FailedPreconditionError.
 */
export async function placeInstance(
  db: Knex,
  req: PlacementRequest,
  onPlaced: (trx: Knex.Transaction, p: Placement) => Promise<void>,
): Promise<Placement> {
  checkPlacementRequest(req);
  const started = performance.now();
  const historyId = newId();
  const elapsed = () => Math.round(performance.now() - started);
  let last: PlacementDecision | undefined;
  for (let attempt = 1; attempt <= MAX_PLACEMENT_ATTEMPTS; attempt++) {
    let outcome: Attempt;
    try {
      outcome = await db.transaction(async (trx): Promise<Attempt> => {
        const snapshot = await readSnapshot(trx, req);
        // A named pool is checked under its lock: the pool's state cannot change until commit.
        if (req.computePoolId !== null) checkPool(req, snapshot.pools[0]);
        const decision = choosePlacement(snapshot, req);
        last = decision;
        const choice = decision.chosen;
        if (choice === null) return { decision, failureReason: decision.reason! };
        if (!(await chargeMachine(trx, choice, req))) throw new LostRace();
        const placement: Placement = {
          historyId,
          computeMachineId: choice.machine.id,
          agentId: choice.machine.agentId!,
          edgeDataCenterId: choice.machine.edgeDataCenterId,
          computePoolId: choice.pool.id,
          policy: decision.policy,
          exclusive: choice.exclusive,
          cpuCores: choice.charge.cpuCores,
          memoryGb: choice.charge.memoryGb,
          storageGb: choice.charge.storageGb,
          gpus: choice.charge.gpus.map((g) => ({ id: g.id, index: g.index, pciAddress: g.pciAddress, model: g.model })),
        };
        await insertSchedulingRecord(trx, {
          ...historyOf(historyId, req, decision, elapsed()),
          outcome: "placed",
          chosenMachineId: choice.machine.id,
          chosenGpuIds: choice.charge.gpus.map((g) => g.id),
        });
        await onPlaced(trx, placement);
        return { placed: placement };
      });
    } catch (err) {
      if (err instanceof LostRace) continue;
      throw err;
    }
    if ("placed" in outcome) return outcome.placed;
    await insertSchedulingRecord(db, {
      ...historyOf(historyId, req, outcome.decision, elapsed()),
      outcome: "failed",
      failureReason: outcome.failureReason,
    });
    throw new ResourceExhaustedError(`Cannot place instance ${req.instanceId}: ${outcome.failureReason}`, {
      reason: "NO_CAPACITY",
      metadata: { scheduling_history_id: historyId },
    });
  }
  // Only writers outside placement (an agent lowering capacity, maintenance) change a machine under
  // the pool lock; several in a row are worth a retry by the caller, not a NO_CAPACITY.
  const failureReason = `the chosen machine changed during placement ${MAX_PLACEMENT_ATTEMPTS} times in a row`;
  await insertSchedulingRecord(db, {
    ...historyOf(historyId, req, last!, elapsed()),
    outcome: "failed",
    failureReason,
  });
  throw new ConflictError(`Cannot place instance ${req.instanceId}: ${failureReason}`, {
    reason: "PLACEMENT_CONTENDED",
    metadata: { scheduling_history_id: historyId },
  });
}

/** A named pool must exist and be active. */
function checkPool(req: PlacementRequest, pool: SnapshotPool | undefined): void {
  if (!pool) throw new NotFoundError("compute pool", req.computePoolId!);
  if (pool.status !== "active")
    throw new FailedPreconditionError(
      `Cannot place instance ${req.instanceId}: compute pool ${JSON.stringify(pool.name)} is ${pool.status}`,
      { reason: "POOL_NOT_ACTIVE", metadata: { compute_pool_id: pool.id, status: pool.status } },
    );
}

function historyOf(id: string, req: PlacementRequest, d: PlacementDecision, durationMs: number): NewSchedulingRecord {
  return {
    id,
    instanceId: req.instanceId,
    vmId: req.vmId,
    tenantId: req.tenantId,
    request: storedRequest(req),
    policy: d.policy,
    candidatesConsidered: d.considered,
    rejected: d.rejectedBy,
    chosenMachineId: null,
    chosenGpuIds: [],
    outcome: "failed",
    failureReason: null,
    durationMs,
  };
}
