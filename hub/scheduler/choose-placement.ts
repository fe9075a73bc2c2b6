import { chargeFor, freeGpusOfModel, staticRejection, type Charge } from "./placement-filters.js";
import { policyOrder, type Fit } from "./placement-policies.js";
import type { PlacementRequest } from "./placement-request.js";
import type { RejectionCounts } from "./rejection-reasons.js";
import { describeNoFit } from "./rejection-summary.js";
import type {
  GpuAllocationStrategy,
  SchedulingPolicy,
  SchedulingSnapshot,
  SnapshotMachine,
  SnapshotPool,
} from "./scheduling-snapshot.js";

export interface PlacementChoice {
  machine: SnapshotMachine;
  pool: SnapshotPool;
  charge: Charge;
  exclusive: boolean;
}

export interface PlacementDecision {
  chosen: PlacementChoice | null;
  /** The policy that ranked the fitting machines. */
  policy: SchedulingPolicy;
  gpuAllocationStrategy: GpuAllocationStrategy;
  /** Machines the filters looked at. */
  considered: number;
  /** How many machines each filter turned away (a machine counts once, under the first it failed). */
  rejectedBy: RejectionCounts;
  /** For people, when nothing fits: what was asked and why each machine said no. */
  reason: string | null;
}

/**
 * Placement as a pure function over a snapshot (no I/O, no clock): filter every machine, then let
 * the pool's policy rank those that fit. With no pool named, machines of every active pool compete
 * under load_balance and first_fit, since no one pool's settings speak for the others.
 */
export function choosePlacement(snapshot: SchedulingSnapshot, req: PlacementRequest): PlacementDecision {
  const pools = new Map(snapshot.pools.map((p) => [p.id, p]));
  const named = req.computePoolId !== null ? pools.get(req.computePoolId) : undefined;
  const policy = named?.schedulingPolicy ?? "load_balance";
  const gpuAllocationStrategy = named?.gpuAllocationStrategy ?? "first_fit";
  const rejectedBy: RejectionCounts = { ...snapshot.prefiltered?.rejectedBy };
  const fits: Fit[] = [];
  for (const machine of snapshot.machines) {
    const pool = pools.get(machine.computePoolId);
    const rejected = staticRejection(machine, pool, req);
    const charge = rejected ?? chargeFor(machine, req);
    if (typeof charge === "string") rejectedBy[charge] = (rejectedBy[charge] ?? 0) + 1;
    else fits.push({ machine, charge });
  }
  const considered = snapshot.machines.length + (snapshot.prefiltered?.considered ?? 0);
  if (fits.length === 0) {
    const reason = describeNoFit(snapshot, req, named?.name ?? null, considered, rejectedBy);
    return { chosen: null, policy, gpuAllocationStrategy, considered, rejectedBy, reason };
  }
  const order = policyOrder(policy, req.affinityMachineId);
  const spread = gpuAllocationStrategy === "least_loaded" && req.gpuCount > 0;
  fits.sort(
    spread ? (a, b) => freeGpusOfModel(b.machine, req) - freeGpusOfModel(a.machine, req) || order(a, b) : order,
  );
  const best = fits[0]!;
  const chosen: PlacementChoice = {
    machine: best.machine,
    pool: pools.get(best.machine.computePoolId)!,
    charge: best.charge,
    exclusive: req.rentalMode === "exclusive",
  };
  return { chosen, policy, gpuAllocationStrategy, considered, rejectedBy, reason: null };
}
