import type { Knex } from "knex";
import { newId } from "../db/ids.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import type { InstanceEvent } from "./instance.js";

/** What the instance event log records (transitions, placements, commands, errors, unknown domains). */
export type InstanceEventKind =
  "status" | "placement" | "placement_failed" | "command" | "error" | "unknown_domain" | "console";

export async function recordInstanceEvent(
  knex: Knex,
  e: { instanceId: string; kind: InstanceEventKind; message: string; attributes?: Record<string, unknown>; at: Date },
): Promise<void> {
  await knex("instance_events").insert({
    id: newId(),
    instance_id: e.instanceId,
    kind: e.kind,
    message: e.message,
    attributes: JSON.stringify(e.attributes ?? {}),
    created_at: e.at,
  });
}

/** Oldest first, keyset-paged on id (v7 ids follow insertion time). */
export async function listInstanceEvents(
  knex: Knex,
  instanceId: string,
  page: PageRequest,
): Promise<Page<InstanceEvent>> {
  const q = knex("instance_events")
    .where({ instance_id: instanceId })
    .orderBy("id")
    .limit(page.pageSize + 1)
    .select("id", "instance_id", "kind", "message", "attributes", "created_at");
  if (page.after) q.where("id", ">", page.after[0]!);
  const rows = (await q) as {
    id: string;
    instance_id: string;
    kind: string;
    message: string;
    attributes: Record<string, unknown>;
    created_at: Date;
  }[];
  return pageOf(
    rows.map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      kind: r.kind,
      message: r.message,
      attributes: r.attributes ?? {},
      createdAt: new Date(r.created_at),
    })),
    page,
    (e) => [e.id],
  );
}
