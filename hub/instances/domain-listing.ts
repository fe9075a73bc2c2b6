import type { Knex } from "knex";
import type { Logger } from "pino";
import { createCommand, getCommand } from "../fleet/command-store.js";
import { recordFleetEvents } from "../fleet/fleet-event-log.js";
import { notifyFleet } from "../fleet/fleet-notifier.js";
import { domainsOfCommand, listDomainsCommand } from "./compute-agent-link.js";
import { applyObservedDomain } from "./observed-domain.js";

const LIST_DEADLINE_MS = 10 * 60 * 1000;
const LOOKBACK_MS = 60 * 60 * 1000;

/**
 * Agent reconnect (DESIGN.md "Desired state"): once per agent session, a compute agent whose
 * machine has VMs is asked for every domain it has (list_domains). Each listing is read once:
 * known VMs take the state the agent reports; a domain the hub does not know is recorded as a
 * warning fleet event (kind unknown_domain) and never destroyed.
 */
export async function reconcileDomainListings(trx: Knex.Transaction, now: Date, log: Logger): Promise<void> {
  const sessions = (await trx("agent_sessions as s")
    .join("compute_machines as m", "m.agent_id", "s.agent_id")
    .whereNull("m.deleted_at")
    .whereExists((q) =>
      q
        .select(trx.raw("1"))
        .from("virtual_machines as v")
        .whereRaw("v.compute_machine_id = m.id")
        .whereNull("v.deleted_at"),
    )
    .select("s.agent_id", "s.session_id")) as { agent_id: string; session_id: string }[];
  for (const s of sessions) {
    const { kind, json } = listDomainsCommand();
    const { created } = await createCommand(trx, {
      agentId: s.agent_id,
      kind,
      payload: json,
      deadline: new Date(now.getTime() + LIST_DEADLINE_MS),
      idempotencyKey: `domains:${s.session_id}`,
      createdBy: null,
      now,
    });
    if (created) await notifyFleet(trx, { t: "commands", agentId: s.agent_id });
  }
  const listings = (await trx("agent_commands")
    .where({ kind: "list_domains", state: "succeeded" })
    .where("idempotency_key", "like", "domains:%")
    .where("finished_at", ">", new Date(now.getTime() - LOOKBACK_MS))
    .whereNotExists((q) =>
      q
        .select(trx.raw("1"))
        .from("fleet_events as e")
        .where("e.kind", "domain_listing_read")
        .whereRaw("e.details->>'command_id' = agent_commands.id::text"),
    )
    .pluck("id")) as string[];
  for (const id of listings) {
    const command = await getCommand(trx, id);
    const domains = domainsOfCommand(command);
    const machine = (await trx("compute_machines")
      .where({ agent_id: command.agentId })
      .whereNull("deleted_at")
      .first("id")) as { id: string } | undefined;
    const known = new Set(
      machine
        ? ((await trx("virtual_machines")
            .where({ compute_machine_id: machine.id })
            .whereNull("deleted_at")
            .pluck("id")) as string[])
        : [],
    );
    const unknown = domains.filter((d) => !known.has(d.uuid));
    for (const d of domains) if (known.has(d.uuid)) await applyObservedDomain(trx, d.uuid, d, now, "domain listing");
    await recordFleetEvents(trx, [
      ...unknown.map((d) => ({
        agentId: command.agentId,
        kind: "unknown_domain",
        severity: "warning" as const,
        message: `Domain ${d.name} (${d.uuid}, ${d.state}) is on the host but not in the hub's model; left untouched`,
        details: { command_id: id, name: d.name, uuid: d.uuid, state: d.state, instance_id: d.instanceId },
        occurredAt: now,
      })),
      {
        agentId: command.agentId,
        kind: "domain_listing_read",
        severity: "info" as const,
        message: `Read ${domains.length} domains (${unknown.length} unknown)`,
        details: { command_id: id },
        occurredAt: now,
      },
    ]);
    if (unknown.length > 0)
      log.warn({ agentId: command.agentId, unknown: unknown.map((d) => d.name) }, "Unknown domains on a compute host");
  }
}
