import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import type { Caller } from "../api/caller.js";
import { DomainError, NotFoundError } from "../domain/errors.js";
import { issueConsoleTicket, type ConsoleTicket } from "../instances/instance-console.js";
import type { Instance } from "../instances/instance.js";
import { startInstance } from "../instances/instance-start.js";
import { getInstance } from "../instances/instance-store.js";
import type { PlacementPort } from "../instances/placement-port.js";
import type { BoxBinding, CloudBox } from "./cloud-box.js";
import { liveBindingsOf } from "./cloud-box-store.js";

// The spec's startup check (000 §2.5.2 scenario A): a box at boot learns whether it is bound, and
// if so the hub makes the bound instance reachable (starting it when stopped) and hands out a
// one-time console ticket through the instances' own path (set_graphics_password on the agent).

export interface StartupCheckDeps {
  knex: Knex;
  clock: Clock;
  placement: PlacementPort;
  wakeReconciler: () => void;
  startTimeoutMs: number;
  /** How long the console path waits for the agent to set the password. */
  consoleWaitMs: number;
  /** How soon a box asks again while its instance starts. */
  retryAfterMs: number;
}

export type StartupAnswer =
  | { verdict: "login"; box: CloudBox; message: string }
  | { verdict: "refused"; box: CloudBox; message: string }
  | { verdict: "starting"; box: CloudBox; binding: BoxBinding; instance: Instance; message: string }
  | { verdict: "ready"; box: CloudBox; binding: BoxBinding; instance: Instance; ticket: ConsoleTicket };

/** What a box in this state is told before any binding is looked at; undefined when it may go on. */
export function refusalOf(box: CloudBox): string | undefined {
  if (box.status === "disabled") return "This cloud box is disabled; ask an administrator";
  if (box.status === "decommissioned") return "This cloud box is decommissioned";
  if (box.status === "maintenance") return "This cloud box is in maintenance";
  return undefined;
}

/** The binding and its instance as a box would find them now, without side effects (also the admin preview). */
export async function lookUpBinding(
  knex: Knex,
  box: CloudBox,
  now: Date,
): Promise<{ binding: BoxBinding; instance: Instance } | { binding: BoxBinding | undefined; message: string }> {
  const binding = (await liveBindingsOf(knex, [box.id], now)).get(box.id);
  if (!binding) return { binding: undefined, message: "No temporary binding: sign in" };
  let instance: Instance;
  try {
    instance = await getInstance(knex, binding.instanceId);
  } catch (err) {
    if (err instanceof NotFoundError) return { binding, message: "The bound instance no longer exists: sign in" };
    throw err;
  }
  if (instance.desiredState === "deleted" || instance.status === "terminating")
    return { binding, message: "The bound instance is being deleted: sign in" };
  return { binding, instance };
}

/** The caller the hub acts as for a bound box: the instance's owner, named after the box in the audit log. */
function boxCaller(box: CloudBox, binding: BoxBinding, instance: Instance, at: Date): Caller {
  return {
    principal: { userId: binding.userId, username: `cloud-box:${box.name}`, role: "user", tenantId: instance.tenantId },
    requestId: `startup-check:${box.id}:${at.getTime()}`,
    at,
  };
}

/**
 * StartupCheck for a box (its identity already proven by its certificate): login, refused,
 * starting (the instance was started now or is on its way; ask again) or ready with a ticket.
 */
export async function startupCheck(deps: StartupCheckDeps, box: CloudBox): Promise<StartupAnswer> {
  const refusal = refusalOf(box);
  if (refusal) return { verdict: "refused", box, message: refusal };
  const now = deps.clock.now();
  const found = await lookUpBinding(deps.knex, box, now);
  if (!("instance" in found)) return { verdict: "login", box, message: found.message };
  const { binding, instance } = found;
  const caller = boxCaller(box, binding, instance, now);
  const starting = (message: string) => ({ verdict: "starting" as const, box, binding, instance, message });
  try {
    if (instance.status === "running") {
      const ticket = await issueConsoleTicket(
        { knex: deps.knex, waitMs: deps.consoleWaitMs, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
        caller,
        instance.id,
      );
      return { verdict: "ready", box, binding, instance, ticket };
    }
    if (instance.status === "stopped" && instance.desiredState !== "running") {
      await startInstance(
        { knex: deps.knex, placement: deps.placement, startTimeoutMs: deps.startTimeoutMs },
        caller,
        instance.id,
        { computePoolId: null, rentalMode: "shared" },
      );
      deps.wakeReconciler();
      return starting(`Starting instance ${instance.name}`);
    }
    return starting(`Instance ${instance.name} is ${instance.status}; waiting for it to run`);
  } catch (err) {
    // Another box or person started it first, no capacity now, the console not ready yet: the box
    // shows why and asks again; only hub faults propagate.
    if (err instanceof DomainError) return starting(err.message);
    throw err;
  }
}
