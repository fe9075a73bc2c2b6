import type { GpuStatus } from "./infrastructure-enums.js";

/**
 * A GPU's status (spec 004 §4.2). The scheduler moves it between available and allocated (with
 * allocated_vm_id, held together by a CHECK); the agent's reports move it between available and
 * error; operators take an available or failed GPU into maintenance and bring it back. An
 * allocated GPU stays allocated whatever the agent reports, until its VM releases it.
 */
const ALLOWED: Record<GpuStatus, readonly GpuStatus[]> = {
  available: ["allocated", "maintenance", "error"],
  allocated: ["available"],
  maintenance: ["available"],
  error: ["available", "maintenance"],
};

export function canTransition(from: GpuStatus, to: GpuStatus): boolean {
  return ALLOWED[from].includes(to);
}

export interface GpuMove {
  readonly from: readonly GpuStatus[];
  readonly to: GpuStatus;
}

/** Operators' moves. */
export const GPU_START_MAINTENANCE: GpuMove = { from: ["available", "error"], to: "maintenance" };
export const GPU_END_MAINTENANCE: GpuMove = { from: ["maintenance"], to: "available" };
/** What a Hello does: a GPU the inventory reports healthy or failed, or no longer reports. */
export const GPU_REPORTED_OK: GpuMove = { from: ["error"], to: "available" };
export const GPU_REPORTED_FAILED: GpuMove = { from: ["available"], to: "error" };

for (const move of [GPU_START_MAINTENANCE, GPU_END_MAINTENANCE, GPU_REPORTED_OK, GPU_REPORTED_FAILED]) {
  for (const from of move.from)
    if (!canTransition(from, move.to)) throw new Error(`GPU move ${from} → ${move.to} is not in the lifecycle`);
}
