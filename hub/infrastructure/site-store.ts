import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { newId } from "../db/ids.js";
import { AlreadyExistsError, InvalidArgumentError } from "../domain/errors.js";

// Edge data centers and compute pools, as far as the fleet needs them (agents enroll into them);
// the infrastructure API owns them later.

export interface EdgeDataCenterRecord {
  id: string;
  name: string;
  location: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ComputePoolRecord {
  id: string;
  name: string;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

function checkedName(field: string, raw: string): string {
  const name = raw.trim();
  if (!name || name.length > 128) throw new InvalidArgumentError(field, "must be 1 to 128 characters");
  return name;
}

async function refuseTakenName(trx: Knex.Transaction, table: string, resource: string, name: string): Promise<void> {
  const taken = await trx(table).whereRaw("lower(name) = lower(?)", [name]).whereNull("deleted_at").first("id");
  if (taken) throw new AlreadyExistsError(resource, `the name "${name}" is taken`);
}

export async function createEdgeDataCenter(
  trx: Knex.Transaction,
  caller: Caller,
  input: { name: string; location: string },
): Promise<EdgeDataCenterRecord> {
  const name = checkedName("edge_data_center.name", input.name);
  await refuseTakenName(trx, "edge_data_centers", "edge data center", name);
  const row = { id: newId(), name, location: input.location, created_at: caller.at, updated_at: caller.at };
  await trx("edge_data_centers").insert({
    ...row,
    created_by: caller.principal.userId,
    updated_by: caller.principal.userId,
  });
  return { id: row.id, name, location: input.location, createdAt: caller.at, updatedAt: caller.at };
}

export async function createComputePool(
  trx: Knex.Transaction,
  caller: Caller,
  input: { name: string; description: string },
): Promise<ComputePoolRecord> {
  const name = checkedName("compute_pool.name", input.name);
  await refuseTakenName(trx, "compute_pools", "compute pool", name);
  const row = { id: newId(), name, description: input.description, created_at: caller.at, updated_at: caller.at };
  await trx("compute_pools").insert({
    ...row,
    created_by: caller.principal.userId,
    updated_by: caller.principal.userId,
  });
  return { id: row.id, name, description: input.description, createdAt: caller.at, updatedAt: caller.at };
}
