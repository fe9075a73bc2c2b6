import type { Knex } from "knex";
import { configFromLimits, type QuotaLimits } from "./quota-dimensions.js";

/**
 * Sets (or replaces) an instance set's optional quota, for the instance-set feature to call in its
 * own transaction with its own audit row. Lowering below use follows §10.5 option 2 like the others:
 * the set is over quota and reserve() refuses anything new in it.
 */
export async function setInstanceSetQuota(
  trx: Knex.Transaction,
  instanceSetId: string,
  tenantId: string,
  limits: QuotaLimits,
  at: Date,
): Promise<void> {
  await trx("instance_set_quotas")
    .insert({
      instance_set_id: instanceSetId,
      tenant_id: tenantId,
      quota_config: JSON.stringify(configFromLimits(limits)),
      created_at: at,
      updated_at: at,
    })
    .onConflict("instance_set_id")
    .merge(["quota_config", "updated_at"]);
}
