import type { Knex } from "knex";
import { reserve } from "../quota/quota-ledger.js";
import type { InstanceStatus } from "./instance-enums.js";
import type { Instance } from "./instance.js";
import { recordInstanceEvent } from "./instance-events.js";
import { transitionInstance } from "./instance-lifecycle.js";

/** An instance's quota size (000 §10.4.1 reads what it occupies from its status). */
export function quotaResources(i: Pick<Instance, "cpuCores" | "memoryGb" | "storageGb">) {
  // No NIC addresses or bandwidth yet: VPCs and IP pools come with the network issue.
  return { cpu_cores: i.cpuCores, memory_gb: i.memoryGb, storage_gb: i.storageGb, ip_addresses: 0, bandwidth_gbps: 0 };
}

/** Charges (or returns) the quota an instance occupies in `state`, in the caller's transaction. */
export async function chargeInstanceQuota(
  trx: Knex.Transaction,
  i: Pick<Instance, "id" | "tenantId" | "userId" | "cpuCores" | "memoryGb" | "storageGb">,
  state: InstanceStatus,
): Promise<void> {
  await reserve(trx, {
    consumer: { type: "instance", id: i.id },
    tenantId: i.tenantId,
    userId: i.userId,
    state,
    resources: quotaResources(i),
  });
}

/**
 * The one way an instance's status changes: the guarded transition, the quota its new status
 * occupies (charged or returned in the same transaction) and an event naming the move.
 */
export async function moveInstance(
  trx: Knex.Transaction,
  i: Instance,
  to: InstanceStatus,
  at: Date,
  why: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const from = await transitionInstance(trx, i.id, to, at, extra);
  await chargeInstanceQuota(trx, i, to);
  await recordInstanceEvent(trx, {
    instanceId: i.id,
    kind: "status",
    message: `Instance ${from} → ${to}: ${why}`,
    attributes: { from, to },
    at,
  });
}
