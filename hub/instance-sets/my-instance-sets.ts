import type { Knex } from "knex";
import type { Page, PageRequest } from "../api/page-token.js";
import type { InstanceSet, MemberRole } from "./instance-set.js";
import { listInstanceSets } from "./instance-set-store.js";
import { membershipsOfUser } from "./instance-set-member-store.js";
import { roleManagesSet } from "./set-roles.js";
import { instancesOfSets, type SetInstance } from "./set-instance-store.js";

export interface MyInstanceSet {
  set: InstanceSet;
  role: MemberRole;
  /** What the user reaches in the set: everything for a teacher (master), its own for a student (worker). */
  instances: SetInstance[];
}

/**
 * ListMyInstanceSets (000 §2.5.2 C): the active sets `userId` is a live member of, in id order, each
 * with its role and the instances it can reach there (000 §2.5.4).
 */
export async function listMyInstanceSets(knex: Knex, userId: string, page: PageRequest): Promise<Page<MyInstanceSet>> {
  const sets = await listInstanceSets(
    knex,
    { tenantId: null, setType: null, status: "active", ownerId: null, memberUserId: userId },
    page,
  );
  const roles = await membershipsOfUser(
    knex,
    userId,
    sets.items.map((s) => s.id),
  );
  // A membership ended between the two reads drops its set from the page.
  const views = sets.items.flatMap((set) => {
    const role = roles.get(set.id);
    return role ? [{ set, role }] : [];
  });
  const instances = await instancesOfSets(
    knex,
    views.map((v) => ({ instanceSetId: v.set.id, ownerId: roleManagesSet(v.role) ? null : userId })),
  );
  return {
    items: views.map((v) => ({ ...v, instances: instances.get(v.set.id) ?? [] })),
    nextPageToken: sets.nextPageToken,
  };
}
