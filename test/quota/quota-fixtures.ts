import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";
import { configFromLimits, type QuotaLimits } from "../../hub/quota/quota-dimensions.js";
import type { QuotaMode } from "../../hub/quota/quota-usage.js";

/** Rows written straight into the tables, so ledger tests do not depend on the identity services. */
export async function insertTenant(knex: Knex, limits: QuotaLimits = {}): Promise<string> {
  const id = newId();
  await knex("tenants").insert({ id, name: `t-${id}`, quota_config: JSON.stringify(configFromLimits(limits)) });
  return id;
}

export async function insertUser(knex: Knex, tenantId: string, limits: QuotaLimits = {}): Promise<string> {
  const id = newId();
  await knex("users").insert({
    id,
    tenant_id: tenantId,
    username: `u-${id}`,
    password_hash: "x",
    role: "user",
    quota_config: JSON.stringify(configFromLimits(limits)),
  });
  return id;
}

export async function insertGroup(
  knex: Knex,
  tenantId: string,
  mode: QuotaMode,
  limits: QuotaLimits,
  members: string[] = [],
  parent: string | null = null,
): Promise<string> {
  const id = newId();
  await knex("user_groups").insert({
    id,
    tenant_id: tenantId,
    name: `g-${id}`,
    quota_mode: mode,
    parent_group_id: parent,
    quota_config: JSON.stringify(configFromLimits(limits)),
  });
  for (const userId of members) await knex("user_group_members").insert({ group_id: id, user_id: userId });
  return id;
}
