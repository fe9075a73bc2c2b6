import type { Knex } from "knex";
import { domainNameOf, type Instance, type VirtualMachine } from "./instance.js";
import { enqueueDomainCommand } from "./compute-agent-link.js";
import { recordInstanceEvent } from "./instance-events.js";
import { cancelStaleSteps } from "./instance-steps.js";
import { moveInstance } from "./instance-status.js";
import { finishDelete } from "./instance-verbs.js";
import type { PlacementPort } from "./placement-port.js";
import { transitionVm } from "./vm-lifecycle.js";

const CLEANUP_DEADLINE_MS = 7 * 24 * 3600 * 1000;

/** Why an operation could not finish, in words a person can act on: an unreachable agent says so. */
export async function whyUnfinished(knex: Knex, vm: VirtualMachine | undefined, fallback: string): Promise<string> {
  if (!vm) return fallback;
  const row = (await knex("compute_machines as m")
    .leftJoin("agents as a", "a.id", "m.agent_id")
    .where("m.id", vm.computeMachineId)
    .first("m.hostname", "a.status", "a.disconnected_at", "a.last_heartbeat_at")) as
    | { hostname: string; status: string | null; disconnected_at: Date | null; last_heartbeat_at: Date | null }
    | undefined;
  if (!row) return fallback;
  if (row.status === null) return `compute machine ${row.hostname} has no agent`;
  if (row.status !== "connected") {
    const since = row.disconnected_at ?? row.last_heartbeat_at;
    return `compute machine ${row.hostname}'s agent is ${row.status === "revoked" ? "revoked" : "offline"}${since ? ` since ${new Date(since).toISOString()}` : ""}`;
  }
  return fallback;
}

/**
 * Ends the instance's operation when it cannot converge (deadline passed, or the agent refused a
 * step), leaving a readable `last_error` and an event:
 *
 *   initializing → stopped   the domain is undefined where it may exist (a durable command that
 *                            waits for the agent); the allocation is returned
 *   stopping     → stopped   the allocation is returned; the VM stays (status error) so the next
 *                            start or delete cleans its domain up
 *   terminating  → deleted   the queued undefine keeps waiting for the agent (a week)
 *   running / suspended      a restart, suspend or resume is abandoned: the instance stays as it is
 */
export async function failOperation(
  trx: Knex.Transaction,
  placement: Pick<PlacementPort, "releaseAllocation">,
  i: Instance,
  vm: VirtualMachine | undefined,
  at: Date,
  reason?: string,
): Promise<void> {
  const what =
    i.pendingAction ??
    { initializing: "start", stopping: "stop", terminating: "delete" }[i.status as string] ??
    i.desiredState;
  const why =
    reason ??
    (await whyUnfinished(
      trx,
      vm,
      `the ${what} did not finish by its deadline ${i.operationDeadline?.toISOString() ?? ""}`,
    ));
  const lastError = `Cannot ${what} instance ${i.id}: ${why}`;
  if (vm) await cancelStaleSteps(trx, vm, null, at);
  await recordInstanceEvent(trx, {
    instanceId: i.id,
    kind: "error",
    message: lastError,
    attributes: { operation: what },
    at,
  });
  const released = { compute_machine_id: null, virtual_machine_id: null, resource_pool_id: null, rental_mode: null };
  switch (i.status) {
    case "initializing": {
      if (vm) {
        await enqueueDomainCommand(trx, {
          machineId: vm.computeMachineId,
          vmId: vm.id,
          step: `cleanup:${i.operationId ?? "none"}`,
          payload: { case: "undefineDomain", value: { name: domainNameOf(vm.id) } },
          deadline: new Date(at.getTime() + CLEANUP_DEADLINE_MS),
          at,
        });
        await transitionVm(trx, vm.id, "deleted", at);
        await placement.releaseAllocation(trx, vm.id);
      }
      await moveInstance(trx, i, "stopped", at, lastError, {
        ...released,
        desired_state: "stopped",
        operation_deadline: null,
        last_error: lastError,
      });
      return;
    }
    case "stopping": {
      if (vm) {
        if (vm.status !== "error") await transitionVm(trx, vm.id, "error", at);
        await placement.releaseAllocation(trx, vm.id);
      }
      await moveInstance(trx, i, "stopped", at, lastError, {
        ...released,
        desired_state: "stopped",
        operation_deadline: null,
        last_error: lastError,
      });
      return;
    }
    case "terminating": {
      if (vm) {
        await transitionVm(trx, vm.id, "deleted", at);
        await placement.releaseAllocation(trx, vm.id);
      }
      await trx("instances").where({ id: i.id }).update({ last_error: lastError });
      await finishDelete(trx, i, at);
      return;
    }
    default: {
      // running / suspended with a restart, suspend or resume pending: give it up, keep the status.
      if (vm?.status === "restarting") await transitionVm(trx, vm.id, "error", at);
      await trx("instances")
        .where({ id: i.id })
        .update({
          desired_state: i.status === "suspended" ? "suspended" : "running",
          pending_action: null,
          operation_deadline: null,
          last_error: lastError,
          updated_at: at,
        });
    }
  }
}
