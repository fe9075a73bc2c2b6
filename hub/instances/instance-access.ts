import type { Knex } from "knex";
import type { Principal } from "../api/principal.js";
import { assertOwnerVisible } from "../api/tenant-scope.js";
import type { Instance } from "./instance.js";
import { getInstance } from "./instance-store.js";

/** An instance as `p` may see it: a user its own, a tenant_admin its tenant's; others answer not_found. */
export async function getVisibleInstance(
  knex: Knex,
  p: Principal,
  id: string,
  options: { lock?: boolean } = {},
): Promise<Instance> {
  const i = await getInstance(knex, id, options);
  assertOwnerVisible(p, { tenantId: i.tenantId, userId: i.userId }, "instance", id);
  return i;
}
