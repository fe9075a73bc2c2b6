import type { HandlerContext } from "@connectrpc/connect";
import type { Clock } from "../../lib/clock/clock.js";
import { principalOf, requestIdOf } from "../api/request-context.js";
import type { Knex } from "knex";
import type { Principal } from "../auth/principal.js";
import { recordAudit } from "./audit-writer.js";

/** Who is changing what, when, under which request: threaded through every admin mutation. */
export interface ChangeContext {
  readonly principal: Principal;
  readonly requestId: string;
  readonly at: Date;
}

export interface ChangeRecord {
  tenantId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
}

/** The audit row of a mutation, written in the mutation's transaction. */
export function recordChange(trx: Knex.Transaction, ctx: ChangeContext, change: ChangeRecord): Promise<void> {
  return recordAudit(trx, { actor: ctx.principal, requestId: ctx.requestId, at: ctx.at, ...change });
}

/** The change context of an admin API call: its principal and request id, at the clock's now. */
export function changeContextOf(ctx: HandlerContext, clock: Clock): ChangeContext {
  return { principal: principalOf(ctx), requestId: requestIdOf(ctx), at: clock.now() };
}
