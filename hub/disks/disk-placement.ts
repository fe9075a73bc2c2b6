import type { Knex } from "knex";
import { FailedPreconditionError, ResourceExhaustedError } from "../domain/errors.js";
import { GIB, type StoragePool } from "./disk.js";
import type { DiskType } from "./disk-enums.js";
import { activePoolsNamed, poolNameFor } from "./storage-pool-store.js";

/**
 * The storage pool a new disk of `diskType` goes to (000 §6.1.2): the pool its type maps to, as a
 * gateway reported it active, with the most free space (optionally in one edge data center). No
 * such pool is failed_precondition (NO_STORAGE_POOL); none with room for the disk is
 * resource_exhausted (STORAGE_POOL_FULL) naming the largest free space.
 */
export async function choosePool(
  knex: Knex,
  diskType: DiskType,
  sizeGb: number,
  edgeDataCenterId: string | null,
): Promise<StoragePool> {
  const name = await poolNameFor(knex, diskType);
  const pools = await activePoolsNamed(knex, name, edgeDataCenterId);
  const where = edgeDataCenterId ? ` in edge data center ${edgeDataCenterId}` : "";
  if (pools.length === 0)
    throw new FailedPreconditionError(
      `Cannot place a ${diskType} disk: no ceph_gateway reports Ceph pool ${name}${where}`,
      { reason: "NO_STORAGE_POOL", metadata: { disk_type: diskType, pool_name: name } },
    );
  return fitsIn(pools[0]!, sizeGb);
}

/** Refuses a disk (or a growth of `sizeGb`) larger than what the pool can still store. */
export function fitsIn(pool: StoragePool, sizeGb: number): StoragePool {
  const wanted = BigInt(sizeGb) * GIB;
  if (wanted > pool.availableBytes)
    throw new ResourceExhaustedError(
      `Cannot place ${sizeGb} GB in Ceph pool ${pool.name}: it has ${Number(pool.availableBytes / GIB)} GB free (${pool.availableBytes} bytes)`,
      {
        reason: "STORAGE_POOL_FULL",
        metadata: {
          storage_pool_id: pool.id,
          pool_name: pool.name,
          requested_bytes: wanted.toString(),
          available_bytes: pool.availableBytes.toString(),
        },
      },
    );
  return pool;
}
