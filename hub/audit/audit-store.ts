import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";

export interface AuditRecord {
  id: string;
  at: Date;
  actorUserId: string | null;
  actorUsername: string;
  tenantId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
  requestId: string;
}

export interface AuditQuery {
  tenantId: string | null;
  actorUserId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  since: Date | null;
  until: Date | null;
  /** Keyset on (at, id): `page.after` is the full-precision `at` text and the id of the last entry of the previous page. */
  page: PageRequest;
}

/**
 * Whether a tenant id names a tenant, deleted ones included (their audit rows stay readable): a
 * filter on an id that never existed is `not_found`, like any other unknown id.
 */
export async function tenantEverExisted(knex: Knex, id: string): Promise<boolean> {
  return (await knex("tenants").where("id", id).first("id")) !== undefined;
}

function parseJson(v: unknown): unknown {
  return typeof v === "string" ? JSON.parse(v) : v;
}

/** Newest first, ties broken by id, keyset-paginated so pages stay stable while new rows arrive. */
export async function listAuditLog(knex: Knex, q: AuditQuery): Promise<Page<AuditRecord>> {
  const query = knex("audit_log")
    .orderBy([
      { column: "at", order: "desc" },
      { column: "id", order: "desc" },
    ])
    .limit(q.page.pageSize + 1)
    .select(
      "id",
      "at",
      "actor_user_id",
      "actor_username",
      "tenant_id",
      "action",
      "target_type",
      "target_id",
      "before",
      "after",
      "request_id",
      // Full-precision text of `at` for the cursor: a JS Date would truncate microseconds and skip rows.
      knex.raw("at::text AS at_key"),
    );
  if (q.tenantId) query.where("tenant_id", q.tenantId);
  if (q.actorUserId) query.where("actor_user_id", q.actorUserId);
  if (q.action) query.where("action", q.action);
  if (q.targetType) query.where("target_type", q.targetType);
  if (q.targetId) query.where("target_id", q.targetId);
  if (q.since) query.where("at", ">=", q.since);
  if (q.until) query.where("at", "<", q.until);
  if (q.page.after) query.whereRaw("(at, id) < (?::timestamptz, ?::uuid)", [q.page.after[0]!, q.page.after[1]!]);
  const rows = (await query) as Record<string, unknown>[];
  const page = pageOf(rows, q.page, (r) => [r.at_key as string, r.id as string]);
  return {
    items: page.items.map((r) => ({
      id: r.id as string,
      at: new Date(r.at as string),
      actorUserId: (r.actor_user_id as string | null) ?? null,
      actorUsername: r.actor_username as string,
      tenantId: (r.tenant_id as string | null) ?? null,
      action: r.action as string,
      targetType: r.target_type as string,
      targetId: (r.target_id as string | null) ?? null,
      before: parseJson(r.before),
      after: parseJson(r.after),
      requestId: r.request_id as string,
    })),
    nextPageToken: page.nextPageToken,
  };
}
