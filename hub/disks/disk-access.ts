import type { Knex } from "knex";
import type { Principal } from "../api/principal.js";
import { assertOwnerVisible } from "../api/tenant-scope.js";
import type { Disk, DiskSnapshot } from "./disk.js";
import { getDisk } from "./disk-store.js";
import { getSnapshot } from "./snapshot-store.js";

/** A disk as `p` may see it: a user its own, a tenant_admin its tenant's; others answer not_found. */
export async function getVisibleDisk(
  knex: Knex,
  p: Principal,
  id: string,
  options: { lock?: boolean } = {},
): Promise<Disk> {
  const d = await getDisk(knex, id, options);
  assertOwnerVisible(p, { tenantId: d.tenantId, userId: d.userId }, "disk", id);
  return d;
}

export async function getVisibleSnapshot(
  knex: Knex,
  p: Principal,
  id: string,
  options: { lock?: boolean } = {},
): Promise<DiskSnapshot> {
  const s = await getSnapshot(knex, id, options);
  assertOwnerVisible(p, { tenantId: s.tenantId, userId: s.userId }, "disk snapshot", id);
  return s;
}
