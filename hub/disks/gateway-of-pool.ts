import type { Knex } from "knex";
import { NotFoundError } from "../domain/errors.js";

/** The ceph_gateway agent that runs the RBD commands for images in a storage pool. */
export async function gatewayOfPool(knex: Knex, storagePoolId: string): Promise<string> {
  const row = (await knex("storage_pools").where({ id: storagePoolId }).first("agent_id")) as
    { agent_id: string } | undefined;
  if (!row) throw new NotFoundError("storage pool", storagePoolId);
  return row.agent_id;
}
