import type { Knex } from "knex";
import { newId } from "../db/ids.js";
import type { Principal } from "../api/principal.js";

export interface AuditEntry {
  /** The acting user; undefined for the hub itself (bootstrap, background loops). */
  actor?: Pick<Principal, "userId" | "username"> | undefined;
  /** Whose data changed; null for system-wide objects. */
  tenantId: string | null;
  /** `<area>.<verb>`, e.g. `auth.login`, `tenant.create`. */
  action: string;
  targetType: string;
  targetId: string | null;
  before?: unknown;
  after?: unknown;
  requestId: string;
  at: Date;
}

/** Writes one audit row inside the caller's transaction, so the change and its record commit together. */
export async function recordAudit(trx: Knex.Transaction, entry: AuditEntry): Promise<void> {
  await trx("audit_log").insert({
    id: newId(),
    at: entry.at,
    actor_user_id: entry.actor?.userId ?? null,
    actor_username: entry.actor?.username ?? "system",
    tenant_id: entry.tenantId,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId,
    before: entry.before === undefined ? null : JSON.stringify(entry.before),
    after: entry.after === undefined ? null : JSON.stringify(entry.after),
    request_id: entry.requestId,
  });
}
