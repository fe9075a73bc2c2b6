import type { Knex } from "knex";
import { newId } from "../db/ids.js";

/** An entry in the instance's event log (instance_events, ListInstanceEvents) about its data disks. */
export async function recordDiskEvent(
  knex: Knex,
  e: { instanceId: string; message: string; attributes?: Record<string, unknown>; at: Date },
): Promise<void> {
  await knex("instance_events").insert({
    id: newId(),
    instance_id: e.instanceId,
    kind: "disk",
    message: e.message,
    attributes: JSON.stringify(e.attributes ?? {}),
    created_at: e.at,
  });
}
