import type { Knex } from "knex";
import { recordFleetEvents } from "../fleet/fleet-event-log.js";
import type { EventSeverity } from "../fleet/fleet-enums.js";
import type { ObservedDomain } from "./compute-agent-link.js";
import { applyObservedDomain } from "./observed-domain.js";

/**
 * libvirt lifecycle event names and DomainState names as agents send them, onto what the hub keeps.
 * "shutdown" (going down, not yet off) is left out: the VM is stopped only once the domain is off.
 */
const WORDS: Record<string, ObservedDomain["state"]> = {
  started: "running",
  resumed: "running",
  running: "running",
  suspended: "paused",
  paused: "paused",
  stopped: "shutoff",
  shutoff: "shutoff",
  crashed: "crashed",
  undefined: "absent",
  absent: "absent",
};

/** The VM id a domain.lifecycle event names: its `uuid` attribute, or the `edgehub-<uuid>` name. */
function vmIdOf(attributes: Record<string, string>): string | undefined {
  const uuid = attributes.uuid ?? attributes.name?.replace(/^edgehub-/, "");
  return uuid && /^[0-9a-f-]{36}$/i.test(uuid) ? uuid.toLowerCase() : undefined;
}

/**
 * A fleet Event of kind `domain.lifecycle` (the agent's libvirt lifecycle callback): the named VM
 * takes the reported state, in its own transaction. Domains the hub does not know are ignored here
 * (the listing on reconnect reports them). Returns whether the model changed (then wake the reconciler).
 */
export async function applyDomainLifecycleEvent(
  knex: Knex,
  e: { kind: string; attributes: Record<string, string>; occurredAt: Date },
): Promise<boolean> {
  if (e.kind !== "domain.lifecycle") return false;
  const vmId = vmIdOf(e.attributes);
  const word = (e.attributes.state ?? e.attributes.event ?? "").toLowerCase().replace(/^domain_state_/, "");
  const state = WORDS[word];
  if (!vmId || !state) return false;
  return knex.transaction((trx) => applyObservedDomain(trx, vmId, { state }, e.occurredAt, `lifecycle event ${word}`));
}

/**
 * The fleet runtime's onEvent with instances hooked in: every agent Event still goes to
 * fleet_events (the default), and a domain.lifecycle one also updates its VM, then wakes the reconciler.
 */
export async function recordAgentEvent(
  knex: Knex,
  e: {
    agentId: string;
    kind: string;
    severity: EventSeverity;
    message: string;
    attributes: Record<string, string>;
    occurredAt: Date;
  },
  wake: () => void,
): Promise<void> {
  await recordFleetEvents(knex, [
    {
      agentId: e.agentId,
      kind: e.kind,
      severity: e.severity,
      message: e.message,
      details: e.attributes,
      occurredAt: e.occurredAt,
    },
  ]);
  if (await applyDomainLifecycleEvent(knex, e)) wake();
}
