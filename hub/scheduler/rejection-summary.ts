import type { PlacementRequest } from "./placement-request.js";
import { describeRejection, REJECTION_REASONS, type RejectionCounts } from "./rejection-reasons.js";
import type { SchedulingSnapshot } from "./scheduling-snapshot.js";

// The failure_reason of a placement nothing could take, e.g.
//   no machine in pool "edge-a" has 4 free CPU cores, 8 GB memory and 20 GB storage
//   (3 machines considered: 2 short of CPU, 1 in maintenance)

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function listed(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? "") : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/** What was asked, as a phrase: "4 free CPU cores, 8 GB memory and 1 free GPU of model \"A100\"". */
function demand(req: PlacementRequest): string {
  const parts = [
    `${plural(req.cpuCores, "free CPU core")}`,
    `${req.memoryGb} GB memory`,
    `${req.storageGb} GB storage`,
  ];
  if (req.gpuCount > 0)
    parts.push(
      `${plural(req.gpuCount, "free GPU")}${req.gpuModel !== null ? ` of model ${JSON.stringify(req.gpuModel)}` : ""}`,
    );
  let text = listed(parts);
  const labels = Object.entries(req.requiredLabels).map(([k, v]) => `${k}=${v}`);
  if (labels.length > 0) text += ` with labels ${labels.join(", ")}`;
  return req.rentalMode === "exclusive" ? `${text} on an unused exclusive machine` : text;
}

/** The GPU models a snapshot holds, with counts. */
function gpuModels(snapshot: SchedulingSnapshot): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of snapshot.machines) for (const g of m.gpus) counts.set(g.model, (counts.get(g.model) ?? 0) + 1);
  for (const g of snapshot.prefiltered?.gpuModels ?? []) counts.set(g.model, (counts.get(g.model) ?? 0) + g.count);
  return counts;
}

/** `"A100" ×4, "T4" ×2`; "none" when there are none. */
function modelsPresent(counts: Map<string, number>): string {
  if (counts.size === 0) return "none";
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([model, n]) => `${JSON.stringify(model)} ×${n}`)
    .join(", ");
}

export function describeNoFit(
  snapshot: SchedulingSnapshot,
  req: PlacementRequest,
  poolName: string | null,
  considered: number,
  rejectedBy: RejectionCounts,
): string {
  const where = poolName !== null ? `in pool ${JSON.stringify(poolName)}` : "in any active pool";
  if (considered === 0) return `no machine ${where} has ${demand(req)} (there are no machines ${where})`;
  const counts = REJECTION_REASONS.filter((r) => (rejectedBy[r] ?? 0) > 0).map(
    (r) => `${rejectedBy[r]} ${describeRejection(r, req.gpuModel)}`,
  );
  const tally = `${plural(considered, "machine")} considered: ${counts.join(", ")}`;
  // A model nobody has is said first: no amount of waiting for capacity will help.
  const model = req.gpuModel?.trim().toLowerCase();
  const models = gpuModels(snapshot);
  const anyOfModel = [...models.keys()].some((m) => m.trim().toLowerCase() === model);
  if (req.gpuCount > 0 && req.gpuModel !== null && !anyOfModel)
    return `no machine ${where} has a GPU of model ${JSON.stringify(req.gpuModel)} (GPU models there: ${modelsPresent(models)}; ${tally})`;
  return `no machine ${where} has ${demand(req)} (${tally})`;
}
