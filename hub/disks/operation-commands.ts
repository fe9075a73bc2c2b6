import type { Knex } from "knex";
import { cancelCommand } from "../fleet/command-store.js";
import { notifyFleet } from "../fleet/fleet-notifier.js";

/** Cancels the unfinished commands of an operation that was given up (a late gateway must not act on it). */
export async function cancelOperationCommands(
  trx: Knex.Transaction,
  agentId: string,
  keyPrefix: string,
  reason: string,
  at: Date,
): Promise<void> {
  const rows = (await trx("agent_commands")
    .where({ agent_id: agentId })
    .where("idempotency_key", "like", `${keyPrefix}%`)
    .whereIn("state", ["queued", "delivered", "running"])
    .pluck("id")) as string[];
  for (const id of rows) {
    const { command, reachedAgent } = await cancelCommand(trx, id, reason, at);
    if (reachedAgent)
      await notifyFleet(trx, { t: "cancel", agentId: command.agentId, commandId: id, reason: "superseded" });
  }
}
