import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { ResourceExhaustedError } from "../domain/errors.js";
import { domainNameOf, type Instance } from "./instance.js";
import type { RentalMode } from "./instance-enums.js";
import { recordInstanceEvent } from "./instance-events.js";
import { assertInstanceTransition } from "./instance-lifecycle.js";
import { getVisibleInstance } from "./instance-access.js";
import { moveInstance } from "./instance-status.js";
import { getInstance, liveVmOf } from "./instance-store.js";
import type { Placement, PlacementPort } from "./placement-port.js";
import { enqueueDomainCommand } from "./compute-agent-link.js";
import { transitionVm } from "./vm-lifecycle.js";

export interface StartDeps {
  knex: Knex;
  placement: PlacementPort;
  /** How long a start may take before it fails with a readable reason (image fetch included). */
  startTimeoutMs: number;
}

/**
 * StartInstance (000 §2.1 启动时): the scheduler places the instance now, in one transaction with
 * the VM row, the status move to `initializing` (desired running), the quota charge and the audit
 * row; the reconciler then defines and boots the domain. No fit → resource_exhausted NO_CAPACITY
 * with the scheduling history id, and the instance stays stopped with nothing allocated.
 */
export async function startInstance(
  deps: StartDeps,
  caller: Caller,
  id: string,
  req: { computePoolId: string | null; rentalMode: RentalMode },
): Promise<{ instance: Instance; historyId: string }> {
  const before = await getVisibleInstance(deps.knex, caller.principal, id);
  assertInstanceTransition(id, before.status, "initializing", `start instance ${id}`);
  const previousVm = await liveVmOf(deps.knex, id);
  const vmId = previousVm?.id ?? newId();
  const operationId = newId();
  const deadline = new Date(caller.at.getTime() + deps.startTimeoutMs);
  const onPlaced = async (trx: Knex.Transaction, p: Placement): Promise<void> => {
    const current = await getInstance(trx, id, { lock: true });
    assertInstanceTransition(id, current.status, "initializing", `start instance ${id}`);
    const config = {
      imageId: current.imageId,
      imageVersionId: current.imageVersionId,
      gpus: p.gpus,
      exclusive: p.exclusive,
      schedulingHistoryId: p.historyId,
    };
    const vm = await liveVmOf(trx, id);
    if (vm) {
      // The VM keeps its id (the domain's UUID). On the same host its domain and overlay are still
      // there and define is idempotent; on another host the old domain is undefined where it was.
      if (vm.computeMachineId !== p.computeMachineId)
        await retireDomain(trx, vm.id, vm.computeMachineId, current, caller.at);
      await transitionVm(trx, vm.id, "creating", caller.at, {
        compute_machine_id: p.computeMachineId,
        config: JSON.stringify(config),
        cpu_cores: current.cpuCores,
        memory_gb: current.memoryGb,
        storage_gb: current.storageGb,
        gpu_count: current.gpuCount,
      });
    } else {
      await trx("virtual_machines").insert({
        id: vmId,
        compute_machine_id: p.computeMachineId,
        instance_id: id,
        vm_name: domainNameOf(vmId),
        cpu_cores: current.cpuCores,
        memory_gb: current.memoryGb,
        storage_gb: current.storageGb,
        gpu_count: current.gpuCount,
        status: "creating",
        config: JSON.stringify(config),
        created_at: caller.at,
        updated_at: caller.at,
      });
    }
    await moveInstance(trx, current, "initializing", caller.at, `start requested by ${caller.principal.username}`, {
      desired_state: "running",
      rental_mode: req.rentalMode,
      resource_pool_id: p.computePoolId,
      compute_machine_id: p.computeMachineId,
      virtual_machine_id: vmId,
      requested_pool_id: req.computePoolId,
      operation_id: operationId,
      operation_deadline: deadline,
      pending_action: null,
      last_error: "",
      updated_by: caller.principal.userId,
    });
    await recordInstanceEvent(trx, {
      instanceId: id,
      kind: "placement",
      message: `Placed on compute machine ${p.computeMachineId} (pool ${p.computePoolId}, policy ${p.policy}${p.exclusive ? ", exclusive" : ""})`,
      attributes: {
        scheduling_history_id: p.historyId,
        compute_machine_id: p.computeMachineId,
        compute_pool_id: p.computePoolId,
        virtual_machine_id: vmId,
        gpus: p.gpus.map((g) => g.pciAddress),
      },
      at: caller.at,
    });
    await recordChange(trx, caller, {
      tenantId: current.tenantId,
      action: "instance.start",
      targetType: "instance",
      targetId: id,
      before: { status: current.status },
      after: { status: "initializing", computeMachineId: p.computeMachineId, virtualMachineId: vmId },
    });
  };
  try {
    const placement = await deps.placement.placeInstance(
      deps.knex,
      {
        instanceId: id,
        vmId,
        tenantId: before.tenantId,
        computePoolId: req.computePoolId,
        rentalMode: req.rentalMode,
        cpuCores: before.cpuCores,
        memoryGb: before.memoryGb,
        storageGb: before.storageGb,
        gpuCount: before.gpuCount,
        gpuModel: before.gpuModel,
        requiredLabels: {},
        affinityMachineId: previousVm?.computeMachineId ?? null,
      },
      onPlaced,
    );
    return { instance: await getInstance(deps.knex, id), historyId: placement.historyId };
  } catch (err) {
    if (err instanceof ResourceExhaustedError && err.reason === "NO_CAPACITY") {
      await deps.knex.transaction(async (trx) => {
        await trx("instances").where({ id }).update({ last_error: err.message, updated_at: caller.at });
        await recordInstanceEvent(trx, {
          instanceId: id,
          kind: "placement_failed",
          message: `Cannot start: ${err.message}`,
          attributes: { ...err.metadata },
          at: caller.at,
        });
      });
    }
    throw err;
  }
}

/** The domain an earlier run left on another host is undefined there (a durable command that waits for its agent). */
async function retireDomain(
  trx: Knex.Transaction,
  vmId: string,
  machineId: string,
  i: Instance,
  at: Date,
): Promise<void> {
  await enqueueDomainCommand(trx, {
    machineId,
    vmId,
    step: `retire:${i.operationId ?? "none"}`,
    payload: { case: "undefineDomain", value: { name: domainNameOf(vmId) } },
    deadline: new Date(at.getTime() + 7 * 24 * 3600 * 1000),
    at,
  });
  await recordInstanceEvent(trx, {
    instanceId: i.id,
    kind: "command",
    message: `Domain ${domainNameOf(vmId)} is undefined on compute machine ${machineId}: the instance was placed elsewhere`,
    attributes: { virtual_machine_id: vmId, compute_machine_id: machineId },
    at,
  });
}
