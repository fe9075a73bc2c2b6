import type { Knex } from "knex";
import type { HostInventory } from "../../lib/host-facts/host-facts.js";
import { ConflictError, PermissionDeniedError, UnauthenticatedError, type DomainError } from "../domain/errors.js";
import { canTransition, statusesAllowing } from "./agent-lifecycle.js";
import { AGENT_BACK, moveMachinesOfAgents } from "../infrastructure/compute-machine-lifecycle.js";
import { registerComputeMachines } from "../infrastructure/compute-machine-registry.js";
import type { BoxFacts } from "../cloud-box-devices/box-facts.js";
import { boxesSaidHello } from "../cloud-box-devices/cloud-box-registry.js";
import type { AgentRole, AgentStatus, MachineType } from "./fleet-enums.js";
import { FLEET_CHANNEL, type FleetNotice } from "./fleet-notifier.js";
import { uuidArrayParam } from "../db/uuid-array.js";

/** A Hello whose stream and certificate checked out, waiting to become a session. */
export interface SessionRequest {
  agentId: string;
  sessionId: string;
  /** From the client certificate. */
  serial: string;
  role: AgentRole;
  agentVersion: string;
  inventory: HostInventory | null;
  /** Cloud boxes: the facts of Hello.cloud_box. */
  cloudBox?: BoxFacts | null;
}

export type SessionOutcome = { ok: true; hostname: string } | { ok: false; error: DomainError };

interface AgentGrantRow {
  id: string;
  status: AgentStatus;
  certificate_serial: string;
  hostname: string;
  edge_data_center_id: string | null;
  compute_pool_id: string | null;
  machine_type: MachineType | null;
}

/**
 * Opens the sessions of many Hellos in one transaction with a fixed number of statements, whatever
 * their number: a hub restarted under 10 000 agents turns their Hellos into a few hundred
 * transactions instead of 10 000 (each with seven round trips). Rows go in as one JSON parameter
 * (`jsonb_to_recordset`), which PGlite and PostgreSQL read alike and which has no bind limit.
 * Returns one outcome per request, in order; refused requests change nothing.
 */
export async function openSessions(
  trx: Knex.Transaction,
  hubId: string,
  requests: readonly SessionRequest[],
  now: Date,
): Promise<SessionOutcome[]> {
  // Every slot is filled below: refusals in the loop, acceptances once the statements ran.
  const outcomes = new Array<SessionOutcome>(requests.length);
  const ids = [...new Set(requests.map((r) => r.agentId))];
  const grants = new Map(
    (
      await trx.raw<{ rows: AgentGrantRow[] }>(
        `SELECT id, status, certificate_serial, hostname, edge_data_center_id, compute_pool_id, machine_type FROM agents WHERE id = ANY(?::uuid[]) ORDER BY id FOR UPDATE`,
        [uuidArrayParam(ids)],
      )
    ).rows.map((r) => [r.id, r]),
  );
  const accepted: { index: number; request: SessionRequest; grant: AgentGrantRow; hostname: string }[] = [];
  const seen = new Set<string>();
  // Latest Hello of an agent wins within a batch, as it would across batches.
  for (let i = requests.length - 1; i >= 0; i--) {
    const r = requests[i]!;
    const grant = grants.get(r.agentId);
    if (!grant)
      outcomes[i] = {
        ok: false,
        error: new UnauthenticatedError(`Agent stream refused: agent ${r.agentId} is not enrolled with this hub`),
      };
    else if (!canTransition(grant.status, "connected"))
      outcomes[i] = {
        ok: false,
        error: new PermissionDeniedError(`Agent stream refused: the certificate of agent ${r.agentId} was revoked`),
      };
    else if (grant.certificate_serial !== r.serial)
      outcomes[i] = {
        ok: false,
        error: new UnauthenticatedError(`Agent stream refused: the certificate of agent ${r.agentId} was superseded`),
      };
    else if (seen.has(r.agentId))
      outcomes[i] = {
        ok: false,
        error: new ConflictError("Agent stream replaced by a newer session of the same agent", {
          reason: "SESSION_REPLACED",
        }),
      };
    else {
      seen.add(r.agentId);
      const hostname = r.inventory?.hostname || grant.hostname;
      accepted.push({ index: i, request: r, grant, hostname });
    }
  }
  if (accepted.length === 0) return outcomes;
  accepted.sort((a, b) => (a.request.agentId < b.request.agentId ? -1 : 1));

  const rows = JSON.stringify(
    accepted.map(({ request: r, hostname }) => ({
      agent_id: r.agentId,
      session_id: r.sessionId,
      hostname,
      agent_version: r.agentVersion,
      inventory: r.inventory,
    })),
  );
  const recordset = `jsonb_to_recordset(?::jsonb) AS v(agent_id uuid, session_id uuid, hostname text, agent_version text, inventory jsonb)`;
  await trx.raw(
    `INSERT INTO agent_sessions (agent_id, session_id, hub_id, connected_at)
     SELECT v.agent_id, v.session_id, ?, ? FROM ${recordset}
     ON CONFLICT (agent_id) DO UPDATE SET session_id = excluded.session_id, hub_id = excluded.hub_id, connected_at = excluded.connected_at`,
    [hubId, now, rows],
  );
  await trx.raw(
    `UPDATE agents AS a SET status = 'connected', hostname = v.hostname, agent_version = v.agent_version, connected_at = ?, last_heartbeat_at = ?,
       updated_at = ?, inventory = COALESCE(v.inventory, a.inventory)
     FROM ${recordset} WHERE a.id = v.agent_id AND a.status = ANY(?::text[])`,
    // The rows are locked and were checked above; the guard keeps the statement honest on its own.
    [now, now, now, rows, `{${statusesAllowing("connected").join(",")}}`],
  );
  // A machine taken offline by liveness comes back; maintenance and decommissioning stay as set.
  await moveMachinesOfAgents(
    trx,
    accepted.map((a) => a.request.agentId),
    AGENT_BACK,
    now,
  );
  await registerComputeMachines(
    trx,
    accepted.flatMap(({ request: r, grant: g }) =>
      r.role === "compute" && r.inventory
        ? [
            {
              grant: {
                agentId: r.agentId,
                edgeDataCenterId: g.edge_data_center_id,
                computePoolId: g.compute_pool_id,
                machineType: g.machine_type,
              },
              inventory: r.inventory,
            },
          ]
        : [],
    ),
    now,
  );
  await boxesSaidHello(
    trx,
    accepted.flatMap(({ request: r }) =>
      r.role === "cloud_box" ? [{ agentId: r.agentId, facts: r.cloudBox ?? null }] : [],
    ),
    now,
  );
  // Older streams of these agents (here or on another hub) close when this commits.
  const notices = accepted.map(({ request: r }): string =>
    JSON.stringify({ t: "session", agentId: r.agentId, sessionId: r.sessionId } satisfies FleetNotice),
  );
  await trx.raw(`SELECT pg_notify(?, n) FROM jsonb_array_elements_text(?::jsonb) AS n`, [
    FLEET_CHANNEL,
    JSON.stringify(notices),
  ]);
  for (const a of accepted) outcomes[a.index] = { ok: true, hostname: a.hostname };
  return outcomes;
}
