// Why a machine was passed over, one stable key per filter: counted per attempt in
// scheduling_history.rejected (jsonb) and spelled out for people by rejection-summary.ts.
// Keys are stored: never rename one.

export const REJECTION_REASONS = [
  "pool_mismatch",
  "pool_not_active",
  "maintenance",
  "offline",
  "decommissioning",
  "health_critical",
  "agent_disconnected",
  "rental_mode",
  "labels",
  "gpu_model",
  "exclusive_in_use",
  "cpu",
  "memory",
  "storage",
  "gpu_count",
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export type RejectionCounts = Partial<Record<RejectionReason, number>>;

/** How a count of machines rejected for `reason` reads: "2 short of CPU". */
export function describeRejection(reason: RejectionReason, gpuModel: string | null): string {
  switch (reason) {
    case "pool_mismatch":
      return "in another pool";
    case "pool_not_active":
      return "in a pool that is not active";
    case "maintenance":
      return "in maintenance";
    case "offline":
      return "offline";
    case "decommissioning":
      return "decommissioning";
    case "health_critical":
      return "in critical health";
    case "agent_disconnected":
      return "with no connected agent";
    case "rental_mode":
      return "of the other rental mode";
    case "labels":
      return "without the required labels";
    case "gpu_model":
      return gpuModel === null ? "without GPUs" : `without GPU model ${JSON.stringify(gpuModel)}`;
    case "exclusive_in_use":
      return "exclusive and already in use";
    case "cpu":
      return "short of CPU";
    case "memory":
      return "short of memory";
    case "storage":
      return "short of storage";
    case "gpu_count":
      return "short of free GPUs";
  }
}
