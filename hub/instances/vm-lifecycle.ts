import type { Knex } from "knex";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import { VM_STATUS, type VmStatus } from "./instance-enums.js";

/**
 * The VM state machine of 000 §1.5, moved only on what the agent reports:
 *
 *   creating ──defined──▶ starting ──domain running──▶ running ──▶ stopping ──domain off──▶ stopped
 *                                                       │  ▲                                  │
 *                                          restarting ◀─┘  └──────── starting ◀───────────────┘
 *   any live state ──▶ error (a failed command) · any state but deleted ──▶ deleted (undefined)
 */
const ALLOWED: Record<VmStatus, readonly VmStatus[]> = {
  creating: ["starting", "stopping", "error", "deleted"],
  starting: ["running", "stopping", "stopped", "error", "deleted"],
  // A guest that powers itself off is reported stopped without a stopping phase.
  running: ["stopping", "stopped", "restarting", "error", "deleted"],
  stopping: ["stopped", "running", "error", "deleted"],
  // A stopped VM is placed again (define is idempotent).
  stopped: ["creating", "starting", "error", "deleted"],
  // A stop while restarting takes over the restart.
  restarting: ["running", "stopping", "stopped", "error", "deleted"],
  error: ["creating", "starting", "stopping", "stopped", "deleted"],
  deleted: [],
};

export function canVmTransition(from: VmStatus, to: VmStatus): boolean {
  return ALLOWED[from].includes(to);
}

export function vmStatesAllowing(to: VmStatus): VmStatus[] {
  return VM_STATUS.dbValues.filter((from) => canVmTransition(from, to));
}

export class IllegalVmTransitionError extends FailedPreconditionError {
  override readonly name = "IllegalVmTransitionError";
  constructor(
    readonly vmId: string,
    readonly from: VmStatus,
    readonly to: VmStatus,
  ) {
    super(`Cannot move virtual machine ${vmId}: it is ${from}, and a VM cannot go from ${from} to ${to}`, {
      reason: "ILLEGAL_VM_TRANSITION",
      metadata: { virtual_machine_id: vmId, from, to },
    });
  }
}

export function assertVmTransition(id: string, from: VmStatus, to: VmStatus): void {
  if (!canVmTransition(from, to)) throw new IllegalVmTransitionError(id, from, to);
}

/** Guarded status write of a VM (see transitionInstance); returns the previous status. */
export async function transitionVm(
  trx: Knex.Transaction | Knex,
  id: string,
  to: VmStatus,
  at: Date,
  extra: Record<string, unknown> = {},
): Promise<VmStatus> {
  const current = (await trx("virtual_machines").where({ id }).first("status")) as { status: VmStatus } | undefined;
  if (!current) throw new NotFoundError("virtual machine", id);
  assertVmTransition(id, current.status, to);
  const n = await trx("virtual_machines")
    .where({ id, status: current.status })
    .whereIn("status", vmStatesAllowing(to))
    .update({ ...extra, status: to, updated_at: at, ...(to === "deleted" ? { deleted_at: at } : {}) });
  if (n === 0) {
    const now = (await trx("virtual_machines").where({ id }).first("status")) as { status: VmStatus };
    throw new IllegalVmTransitionError(id, now.status, to);
  }
  return current.status;
}
