import type { Knex } from "knex";
import { newId } from "../db/ids.js";
import type { ObservedDomain } from "./compute-agent-link.js";
import { recordInstanceEvent } from "./instance-events.js";
import { moveInstance } from "./instance-status.js";
import { getInstance, getVm } from "./instance-store.js";
import { transitionVm } from "./vm-lifecycle.js";

const OFF = new Set<ObservedDomain["state"]>(["shutoff", "crashed", "absent"]);

/**
 * What the agent saw of a known VM's domain (a lifecycle event or a listing) applied to the model:
 * a starting VM whose domain runs is running; a running domain that went off by itself (guest
 * power-off, crash) makes the VM stopped and the instance stop (its allocation is then returned by
 * the reconciler). Anything else is left to the reconciler's own steps. Returns whether it changed something.
 */
export async function applyObservedDomain(
  trx: Knex.Transaction,
  vmId: string,
  seen: Pick<ObservedDomain, "state">,
  at: Date,
  source: string,
): Promise<boolean> {
  const vm = await getVm(trx, vmId);
  if (!vm || vm.status === "deleted") return false;
  await trx("virtual_machines").where({ id: vmId }).update({ last_domain_state: seen.state });
  if (seen.state === "running" && vm.status === "starting") {
    await transitionVm(trx, vmId, "running", at);
    return true;
  }
  if (!OFF.has(seen.state) || (vm.status !== "running" && vm.status !== "restarting")) return false;
  const i = await getInstance(trx, vm.instanceId, { lock: true });
  if (vm.status === "restarting") return false; // the restart's own shutdown
  await transitionVm(trx, vmId, "stopped", at, { graphics_port: 0 });
  if (i.status === "running" || i.status === "suspended") {
    await moveInstance(trx, i, "stopping", at, `the domain went ${seen.state} on its own (${source})`, {
      desired_state: "stopped",
      operation_id: newId(),
      pending_action: null,
    });
  } else {
    await recordInstanceEvent(trx, {
      instanceId: i.id,
      kind: "status",
      message: `The agent reports domain ${vm.vmName} ${seen.state} (${source})`,
      at,
    });
  }
  return true;
}
