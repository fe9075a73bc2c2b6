import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";

/** What catalog operations are built from. */
export interface CatalogDeps {
  knex: Knex;
  clock: Clock;
}
