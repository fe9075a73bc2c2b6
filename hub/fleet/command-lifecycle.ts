import { COMMAND_STATE, type CommandState } from "./fleet-enums.js";

/**
 * A durable command's states (DESIGN.md): queued → delivered → running → succeeded | failed |
 * cancelled | expired. Final states absorb: a late report for a finished command is ignored.
 */
export type { CommandState };
export const PENDING_STATES = ["queued", "delivered", "running"] as const satisfies readonly CommandState[];
export const FINAL_STATES = ["succeeded", "failed", "cancelled", "expired"] as const satisfies readonly CommandState[];
export type FinalCommandState = (typeof FINAL_STATES)[number];

const ALLOWED: Record<CommandState, readonly CommandState[]> = {
  // A queued command can finish without a delivery only by cancel or expiry.
  queued: ["delivered", "cancelled", "expired"],
  // An agent may report a result without a separate "running" (fast executors, re-deliveries).
  delivered: ["running", "succeeded", "failed", "cancelled", "expired"],
  running: ["succeeded", "failed", "cancelled", "expired"],
  succeeded: [],
  failed: [],
  cancelled: [],
  expired: [],
};

export function isFinal(state: CommandState): state is FinalCommandState {
  return (FINAL_STATES as readonly string[]).includes(state);
}

export function canTransition(from: CommandState, to: CommandState): boolean {
  return ALLOWED[from].includes(to);
}

/** The states a command may be in for a move to `to` to be legal: the WHERE clause of a guarded update. */
export function statesAllowing(to: CommandState): CommandState[] {
  return COMMAND_STATE.dbValues.filter((from) => canTransition(from, to));
}
