import type { Knex } from "knex";
import { GIB } from "./disk.js";
import { fitsIn } from "./disk-placement.js";
import { getStoragePool } from "./storage-pool-store.js";

/**
 * Takes `sizeGb` off the pool's free space in the caller's transaction (the row is locked, so
 * concurrent creates see each other), refusing with STORAGE_POOL_FULL when it does not fit. The
 * gateway's next report replaces the figure with what Ceph measures (images are thin), so this only
 * keeps a burst of creates between two reports from promising more than the pool had.
 */
export async function takePoolSpace(trx: Knex.Transaction, storagePoolId: string, sizeGb: number, at: Date) {
  const pool = fitsIn(await getStoragePool(trx, storagePoolId, { lock: true }), sizeGb);
  await trx("storage_pools")
    .where({ id: pool.id })
    .update({ available_bytes: (pool.availableBytes - BigInt(sizeGb) * GIB).toString(), updated_at: at });
  return pool;
}
