import type { Knex } from "knex";
import { rbdPayloads, runGatewayStep, type RbdPayload } from "./ceph-gateway-link.js";
import type { DiskSnapshot } from "./disk.js";
import { getDisk } from "./disk-store.js";
import { gatewayOfPool } from "./gateway-of-pool.js";
import { cancelOperationCommands } from "./operation-commands.js";
import { transitionSnapshot } from "./snapshot-lifecycle.js";
import { getSnapshot } from "./snapshot-store.js";

const LONG_DEADLINE_MS = 7 * 24 * 3600 * 1000;

export function snapshotKey(s: Pick<DiskSnapshot, "id" | "operationId">): string {
  return `snap:${s.id}:${s.operationId ?? "none"}:`;
}

/**
 * Converges one snapshot: creating → take it, then protect it (clones need a protected parent, and
 * protecting at once means CloneDisk never waits); deleting → unprotect, then remove.
 */
export async function reconcileSnapshot(trx: Knex.Transaction, id: string, now: Date): Promise<void> {
  const s = await getSnapshot(trx, id, { lock: true });
  const d = await getDisk(trx, s.diskId, { includeDeleted: true });
  const agentId = await gatewayOfPool(trx, d.storagePoolId);
  const ref = [d.rbdPool, d.rbdImageName, s.rbdSnapshotName] as const;
  const name = `${d.rbdPool}/${d.rbdImageName}@${s.rbdSnapshotName}`;
  const step = (n: string, payload: () => RbdPayload) =>
    runGatewayStep(trx, {
      agentId,
      key: `${snapshotKey(s)}${n}`,
      payload,
      deadline: s.operationDeadline ?? new Date(now.getTime() + LONG_DEADLINE_MS),
      at: now,
    });
  const fail = (reason: string) =>
    transitionSnapshot(trx, id, "error", now, { last_error: reason, operation_deadline: null }).then(() => undefined);
  if (s.operationDeadline && now >= s.operationDeadline) {
    const agent = (await trx("agents").where({ id: agentId }).first("status", "hostname")) as
      { status: string; hostname: string } | undefined;
    const gw = agent ? `ceph_gateway ${agent.hostname} is ${agent.status}` : `ceph_gateway agent ${agentId} is gone`;
    await cancelOperationCommands(trx, agentId, snapshotKey(s), "the operation's deadline passed", now);
    return fail(
      `${s.status === "creating" ? "Snapshot" : "Removal"} of ${name} did not finish by its deadline (${gw})`,
    );
  }
  if (s.status === "creating") {
    const taken = await step("create", () => rbdPayloads.createSnapshot(...ref));
    if (taken.kind === "waiting") return;
    if (taken.kind === "failed") return fail(`Snapshot ${name} failed: ${taken.error}`);
    const prot = await step("protect", () => rbdPayloads.protectSnapshot(...ref));
    if (prot.kind === "waiting") return;
    if (prot.kind === "failed") return fail(`Protecting snapshot ${name} failed: ${prot.error}`);
    await transitionSnapshot(trx, id, "available", now, { protected: true, operation_deadline: null, last_error: "" });
    return;
  }
  if (s.status === "deleting") {
    if (s.protected) {
      const o = await step("unprotect", () => rbdPayloads.unprotectSnapshot(...ref));
      if (o.kind === "waiting") return;
      if (o.kind === "failed") return fail(`Unprotecting snapshot ${name} failed: ${o.error}`);
      await trx("private_data_disk_snapshots").where({ id }).update({ protected: false, updated_at: now });
    }
    const o = await step("remove", () => rbdPayloads.removeSnapshot(...ref));
    if (o.kind === "waiting") return;
    if (o.kind === "failed") return fail(`Removing snapshot ${name} failed: ${o.error}`);
    await trx("private_data_disk_snapshots")
      .where({ id, status: "deleting" })
      .update({ deleted_at: now, operation_deadline: null, updated_at: now });
  }
}
