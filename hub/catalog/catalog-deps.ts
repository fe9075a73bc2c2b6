import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import type { Principal } from "../api/principal.js";

/** What catalog operations are built from. */
export interface CatalogDeps {
  knex: Knex;
  clock: Clock;
}

/** Who asks, for access checks, created_by/updated_by and the audit row. */
export interface CatalogCaller {
  principal: Principal;
  requestId: string;
}
