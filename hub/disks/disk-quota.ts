import type { Knex } from "knex";
import { release, reserve } from "../quota/quota-ledger.js";
import type { Disk } from "./disk.js";

/**
 * Charges a disk's size to `max_private_data_disk_gb` at every level (tenant, shared/hybrid groups,
 * user) in the caller's transaction; the ledger locks the holders, so concurrent creates serialise
 * per tenant and never exceed a limit. Refuses with resource_exhausted (QUOTA_EXCEEDED).
 */
export async function chargeDiskQuota(
  trx: Knex.Transaction,
  d: Pick<Disk, "id" | "tenantId" | "userId" | "sizeGb">,
): Promise<void> {
  await reserve(trx, {
    consumer: { type: "private_data_disk", id: d.id },
    tenantId: d.tenantId,
    userId: d.userId,
    state: "available",
    resources: { private_data_disk_gb: d.sizeGb },
  });
}

/** A deleted disk holds nothing (000 §10.4.1 "私有数据盘删除后立即释放配额"). */
export async function releaseDiskQuota(trx: Knex.Transaction, diskId: string): Promise<void> {
  await release(trx, { type: "private_data_disk", id: diskId });
}
