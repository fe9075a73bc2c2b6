import type { Knex } from "knex";
import { AlreadyExistsError, InvalidArgumentError } from "../domain/errors.js";

// Data center and pool names: 1 to 128 characters, unique (case-insensitive) among live rows.

export function checkedName(field: string, raw: string): string {
  const name = raw.trim();
  if (!name || name.length > 128) throw new InvalidArgumentError(field, "must be 1 to 128 characters");
  return name;
}

export async function refuseTakenName(
  trx: Knex.Transaction,
  table: "edge_data_centers" | "compute_pools",
  resource: string,
  name: string,
  exceptId?: string,
): Promise<void> {
  const q = trx(table).whereRaw("lower(name) = lower(?)", [name]).whereNull("deleted_at").first("id");
  if (exceptId) q.whereNot("id", exceptId);
  if (await q) throw new AlreadyExistsError(resource, `the name "${name}" is taken`);
}
