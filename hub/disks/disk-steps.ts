import type { Knex } from "knex";
import type { Disk } from "./disk.js";
import { gbOf, rbdPayloads, runGatewayStep, type RbdPayload } from "./ceph-gateway-link.js";
import { transitionDisk } from "./disk-lifecycle.js";
import { chargeDiskQuota } from "./disk-quota.js";
import { getDisk } from "./disk-store.js";
import { gatewayOfPool } from "./gateway-of-pool.js";
import { cancelOperationCommands } from "./operation-commands.js";
import { getSnapshot } from "./snapshot-store.js";

const LONG_DEADLINE_MS = 7 * 24 * 3600 * 1000;

/** The idempotency-key prefix of a disk operation: a retried pass finds the same command. */
export function diskKey(d: Pick<Disk, "id" | "operationId">): string {
  return `disk:${d.id}:${d.operationId ?? "none"}:`;
}

/**
 * Converges one disk as far as its gateway's reports allow now: creating → create (or clone) the
 * image, a size above the provisioned one → resize, deleting → remove the image with its snapshots.
 * Runs inside the reconciler's savepoint with the disk row locked.
 */
export async function reconcileDisk(trx: Knex.Transaction, id: string, now: Date): Promise<void> {
  const d = await getDisk(trx, id, { lock: true });
  const agentId = await gatewayOfPool(trx, d.storagePoolId);
  const step = (name: string, payload: () => RbdPayload) =>
    runGatewayStep(trx, {
      agentId,
      key: `${diskKey(d)}${name}`,
      payload,
      deadline: d.operationDeadline ?? new Date(now.getTime() + LONG_DEADLINE_MS),
      at: now,
    });
  const image = `${d.rbdPool}/${d.rbdImageName}`;
  if (d.operationDeadline && now >= d.operationDeadline) {
    const agent = (await trx("agents").where({ id: agentId }).first("status", "hostname")) as
      { status: string; hostname: string } | undefined;
    const gw = agent ? `ceph_gateway ${agent.hostname} is ${agent.status}` : `ceph_gateway agent ${agentId} is gone`;
    await cancelOperationCommands(trx, agentId, diskKey(d), "the operation's deadline passed", now);
    return failDisk(trx, d, now, `${operationOf(d)} of image ${image} did not finish by its deadline (${gw})`);
  }
  switch (d.status) {
    case "creating": {
      const o = d.parentSnapshotId
        ? await step("clone", await clonePayload(trx, d))
        : await step("create", () => rbdPayloads.createImage(d.rbdPool, d.rbdImageName, d.sizeGb));
      if (o.kind === "waiting") return;
      if (o.kind === "failed") return failDisk(trx, d, now, `${operationOf(d)} of image ${image} failed: ${o.error}`);
      if (!o.image?.exists)
        return failDisk(trx, d, now, `${operationOf(d)} of image ${image}: the gateway reports no image afterwards`);
      const provisioned = Math.min(gbOf(o.image.sizeBytes), d.sizeGb);
      const converged = provisioned === d.sizeGb;
      await transitionDisk(trx, id, "available", now, {
        provisioned_size_gb: provisioned,
        last_error: "",
        // A clone larger than its snapshot keeps the operation for the resize that follows.
        ...(converged ? { operation_deadline: null } : {}),
      });
      return;
    }
    case "available":
    case "attached": {
      if (d.provisionedSizeGb >= d.sizeGb) return;
      const o = await step(`resize-${d.sizeGb}`, () => rbdPayloads.resizeImage(d.rbdPool, d.rbdImageName, d.sizeGb));
      if (o.kind === "waiting") return;
      if (o.kind === "failed")
        return failResize(trx, d, now, `Resize of image ${image} to ${d.sizeGb} GB failed: ${o.error}`);
      await trx("private_data_disks")
        .where({ id })
        .update({ provisioned_size_gb: d.sizeGb, operation_deadline: null, last_error: "", updated_at: now });
      return;
    }
    case "deleting": {
      const o = await step("remove", () => rbdPayloads.removeImage(d.rbdPool, d.rbdImageName));
      if (o.kind === "waiting") return;
      if (o.kind === "failed") return failDisk(trx, d, now, `Removal of image ${image} failed: ${o.error}`);
      await trx("private_data_disk_snapshots")
        .where({ disk_id: id })
        .whereNull("deleted_at")
        .update({ deleted_at: now, updated_at: now });
      await trx("private_data_disks")
        .where({ id, status: "deleting" })
        .update({ deleted_at: now, operation_deadline: null, updated_at: now });
      return;
    }
    default:
      return;
  }
}

function operationOf(d: Disk): string {
  if (d.status === "creating") return d.parentSnapshotId ? "Clone" : "Creation";
  if (d.status === "deleting") return "Removal";
  return `Resize to ${d.sizeGb} GB`;
}

async function clonePayload(trx: Knex.Transaction, d: Disk): Promise<() => RbdPayload> {
  const snap = await getSnapshot(trx, d.parentSnapshotId!, { includeDeleted: true });
  const parent = await getDisk(trx, snap.diskId, { includeDeleted: true });
  return () =>
    rbdPayloads.cloneImage(
      { pool: parent.rbdPool, image: parent.rbdImageName, snapshot: snap.rbdSnapshotName },
      { pool: d.rbdPool, image: d.rbdImageName },
    );
}

/** A create, clone or removal that failed: the disk is in error with the reason (its quota stays charged until deleted). */
async function failDisk(trx: Knex.Transaction, d: Disk, now: Date, reason: string): Promise<void> {
  if (d.status === "available" || d.status === "attached") return failResize(trx, d, now, reason);
  await transitionDisk(trx, d.id, "error", now, { last_error: reason, operation_deadline: null });
}

/**
 * A resize that failed leaves the disk usable at the size the image has: the request is undone
 * (size and quota back to the provisioned size) and the reason kept in last_error.
 */
async function failResize(trx: Knex.Transaction, d: Disk, now: Date, reason: string): Promise<void> {
  await chargeDiskQuota(trx, { ...d, sizeGb: d.provisionedSizeGb });
  await trx("private_data_disks")
    .where({ id: d.id })
    .update({ size_gb: d.provisionedSizeGb, last_error: reason, operation_deadline: null, updated_at: now });
}
