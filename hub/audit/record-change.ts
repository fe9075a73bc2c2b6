import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordAudit } from "./audit-writer.js";

export interface ChangeRecord {
  tenantId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
}

/** The audit row of a mutation, written in the mutation's transaction. */
export function recordChange(trx: Knex.Transaction, caller: Caller, change: ChangeRecord): Promise<void> {
  return recordAudit(trx, { actor: caller.principal, requestId: caller.requestId, at: caller.at, ...change });
}
