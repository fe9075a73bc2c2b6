import type { Knex } from "knex";

/** Ids as one `uuid[]` parameter (`?::uuid[]` in raw SQL); UUIDs need no quoting inside the array literal. */
export function uuidArrayParam(ids: readonly string[]): string {
  return `{${ids.join(",")}}`;
}

/**
 * `column = ANY($1::uuid[])` with the ids as one array parameter. `whereIn` binds one parameter per
 * id and PostgreSQL refuses a statement with more than 65 535; fleet-wide statements (a site going
 * offline, a hub restart under 10 000 agents) must not depend on the fleet size.
 */
export function whereUuidIn<T extends Knex.QueryBuilder>(query: T, column: string, ids: readonly string[]): T {
  return query.whereRaw("?? = ANY(?::uuid[])", [column, uuidArrayParam(ids)]) as T;
}
