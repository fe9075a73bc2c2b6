import type { HandlerContext } from "@connectrpc/connect";
import type { Clock } from "../../lib/clock/clock.js";
import type { Principal } from "./principal.js";
import { principalOf, requestIdOf } from "./request-context.js";

/**
 * Who is asking, under which request, at what time: threaded from the Connect handler into every
 * operation for access checks, `created_by`/`updated_by` and the audit row.
 */
export interface Caller {
  readonly principal: Principal;
  readonly requestId: string;
  readonly at: Date;
}

/** The caller of an admin API call: its principal and request id, at the clock's now. */
export function callerOf(ctx: HandlerContext, clock: Clock): Caller {
  return { principal: principalOf(ctx), requestId: requestIdOf(ctx), at: clock.now() };
}
