import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { AlreadyExistsError, FailedPreconditionError } from "../domain/errors.js";
import { rbdSnapshotNameOf, type DiskSnapshot } from "./disk.js";
import type { DiskTimeouts } from "./disk-create.js";
import { getVisibleDisk, getVisibleSnapshot } from "./disk-access.js";
import { transitionSnapshot } from "./snapshot-lifecycle.js";
import { getSnapshot, liveClonesOf } from "./snapshot-store.js";

/**
 * CreateDiskSnapshot (000 §3.2 快照): of an available or attached disk whose image is at its size;
 * the gateway takes the RBD snapshot and protects it, so it can be cloned as soon as it is available.
 */
export async function createSnapshot(
  knex: Knex,
  caller: Caller,
  diskId: string,
  input: { name: string; description: string },
  t: DiskTimeouts,
): Promise<DiskSnapshot> {
  return knex.transaction(async (trx) => {
    // The disk row is locked so a delete cannot start while its snapshot is being recorded.
    const d = await getVisibleDisk(trx, caller.principal, diskId, { lock: true });
    if ((d.status !== "available" && d.status !== "attached") || d.provisionedSizeGb !== d.sizeGb)
      throw new FailedPreconditionError(
        `Cannot snapshot disk ${diskId}: it is ${d.status}${d.provisionedSizeGb !== d.sizeGb ? " with an operation running" : ""}; snapshot an available or attached disk`,
        { reason: "DISK_NOT_READY", metadata: { disk_id: diskId, status: d.status } },
      );
    const taken = await trx("private_data_disk_snapshots")
      .where({ disk_id: diskId })
      .whereNull("deleted_at")
      .whereRaw("lower(name) = lower(?)", [input.name])
      .first("id");
    if (taken)
      throw new AlreadyExistsError("disk snapshot", `disk ${diskId} already has a snapshot named "${input.name}"`);
    const id = newId();
    await trx("private_data_disk_snapshots").insert({
      id,
      disk_id: diskId,
      user_id: d.userId,
      tenant_id: d.tenantId,
      name: input.name,
      description: input.description,
      size_gb: d.sizeGb,
      rbd_snapshot_name: rbdSnapshotNameOf(id),
      status: "creating",
      protected: false,
      operation_id: newId(),
      operation_deadline: new Date(caller.at.getTime() + t.snapshotTimeoutMs),
      created_at: caller.at,
      updated_at: caller.at,
      created_by: caller.principal.userId,
      updated_by: caller.principal.userId,
    });
    const after = await getSnapshot(trx, id);
    await recordChange(trx, caller, {
      tenantId: d.tenantId,
      action: "disk.snapshot.create",
      targetType: "disk_snapshot",
      targetId: id,
      after,
    });
    return after;
  });
}

/** DeleteDiskSnapshot: refused while a live clone has it as parent; the gateway unprotects and removes it. */
export async function deleteSnapshot(knex: Knex, caller: Caller, id: string, t: DiskTimeouts): Promise<DiskSnapshot> {
  return knex.transaction(async (trx) => {
    const before = await getVisibleSnapshot(trx, caller.principal, id, { lock: true });
    const clones = await liveClonesOf(trx, [id]);
    if (clones.length > 0)
      throw new FailedPreconditionError(
        `Cannot delete snapshot ${id}: disk ${clones[0]!.id} was cloned from it; delete the clone first`,
        { reason: "SNAPSHOT_HAS_CLONES", metadata: { snapshot_id: id, clone_id: clones[0]!.id } },
      );
    await transitionSnapshot(
      trx,
      id,
      "deleting",
      caller.at,
      {
        operation_id: newId(),
        operation_deadline: new Date(caller.at.getTime() + t.snapshotTimeoutMs),
        last_error: "",
        updated_by: caller.principal.userId,
      },
      `delete snapshot ${id}`,
    );
    const after = await getSnapshot(trx, id);
    await recordChange(trx, caller, {
      tenantId: before.tenantId,
      action: "disk.snapshot.delete",
      targetType: "disk_snapshot",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}
