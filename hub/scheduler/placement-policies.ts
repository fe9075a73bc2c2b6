import type { Charge } from "./placement-filters.js";
import type { SchedulingPolicy, SnapshotMachine } from "./scheduling-snapshot.js";

// A pool's scheduling_policy orders the machines that passed every filter; the first wins. Every
// order ends on the machine id, so a snapshot always yields the same choice.

export interface Fit {
  machine: SnapshotMachine;
  charge: Charge;
}

/** The fullest dimension of `m` once `c` is charged (0..1): load_balance places where this is lowest. */
export function loadAfter(m: SnapshotMachine, c: Charge): number {
  const share = (used: number, cap: number) => (cap > 0 ? used / cap : 0);
  return Math.max(
    share(m.allocatedCpuCores + c.cpuCores, m.cpuCores),
    share(m.allocatedMemoryGb + c.memoryGb, m.memoryGb),
    share(m.allocatedStorageGb + c.storageGb, m.storageGb),
    c.gpus.length > 0 ? share(m.allocatedGpuCount + c.gpus.length, m.gpuCount) : 0,
  );
}

type Order = (a: Fit, b: Fit) => number;

const byId: Order = (a, b) => (a.machine.id < b.machine.id ? -1 : a.machine.id > b.machine.id ? 1 : 0);
const byLoad: Order = (a, b) => loadAfter(a.machine, a.charge) - loadAfter(b.machine, b.charge) || byId(a, b);
const byPriority: Order = (a, b) => b.machine.priority - a.machine.priority || byLoad(a, b);
/** Least recently chosen first; never chosen before anything chosen. */
const byRotation: Order = (a, b) =>
  (a.machine.lastPlacedAt?.getTime() ?? -Infinity) - (b.machine.lastPlacedAt?.getTime() ?? -Infinity) || byId(a, b);

/** The order `policy` ranks fitting machines in; affinity puts `affinityMachineId` first, then balances. */
export function policyOrder(policy: SchedulingPolicy, affinityMachineId: string | null): Order {
  switch (policy) {
    case "load_balance":
      return byLoad;
    case "priority":
      return byPriority;
    case "round_robin":
      return byRotation;
    case "affinity":
      return (a, b) =>
        Number(b.machine.id === affinityMachineId) - Number(a.machine.id === affinityMachineId) || byLoad(a, b);
  }
}
