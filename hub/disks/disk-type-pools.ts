import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { InvalidArgumentError } from "../domain/errors.js";
import type { DiskType } from "./disk-enums.js";
import { listDiskTypePools, type DiskTypePool } from "./storage-pool-store.js";

// Ceph pool names as the operators of this product write them (`private-data-disks-ssd`).
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function validPoolName(field: string, value: string): string {
  const v = value.trim();
  if (!POOL_NAME.test(v))
    throw new InvalidArgumentError(
      field,
      "must be a Ceph pool name: 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  return v;
}

/** UpdateDiskTypePool: where new disks of a type go; existing disks stay in their pool. */
export async function setDiskTypePool(
  knex: Knex,
  caller: Caller,
  diskType: DiskType,
  poolName: string,
): Promise<DiskTypePool> {
  return knex.transaction(async (trx) => {
    const before = (await trx("disk_type_pools").where({ disk_type: diskType }).forUpdate().first("pool_name")) as
      { pool_name: string } | undefined;
    await trx("disk_type_pools")
      .insert({ disk_type: diskType, pool_name: poolName, updated_at: caller.at, updated_by: caller.principal.userId })
      .onConflict("disk_type")
      .merge();
    await recordChange(trx, caller, {
      tenantId: null,
      action: "disk_type_pool.update",
      targetType: "disk_type_pool",
      targetId: diskType,
      before: before ? { poolName: before.pool_name } : undefined,
      after: { poolName },
    });
    return (await listDiskTypePools(trx)).find((m) => m.diskType === diskType)!;
  });
}
