import type { Knex } from "knex";
import type { HostInventory } from "../../lib/host-facts/host-facts.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { requireId } from "../api/resource-id.js";
import { NotFoundError } from "../domain/errors.js";
import { whereUuidIn } from "../db/uuid-array.js";
import { moveAgents } from "./agent-lifecycle.js";
import * as cloudBoxes from "../cloud-box-devices/cloud-box-lifecycle.js";
import { AGENT_LOST, moveMachinesOfAgents } from "../infrastructure/compute-machine-lifecycle.js";
import type { AgentRole, AgentStatus, MachineType } from "./fleet-enums.js";

export interface AgentRecord {
  id: string;
  role: AgentRole;
  hostname: string;
  status: AgentStatus;
  edgeDataCenterId: string | null;
  computePoolId: string | null;
  machineType: MachineType | null;
  certificateSerial: string;
  agentVersion: string;
  inventory: HostInventory | null;
  lastHeartbeatAt: Date | null;
  enrolledAt: Date;
  updatedAt: Date;
  revokedAt: Date | null;
  computeMachineId: string | null;
  hubId: string | null;
}

interface AgentRow {
  id: string;
  role: AgentRole;
  hostname: string;
  status: AgentStatus;
  edge_data_center_id: string | null;
  compute_pool_id: string | null;
  machine_type: MachineType | null;
  certificate_serial: string;
  agent_version: string;
  inventory: HostInventory | null;
  last_heartbeat_at: Date | null;
  enrolled_at: Date;
  updated_at: Date;
  revoked_at: Date | null;
  compute_machine_id: string | null;
  hub_id: string | null;
}

function toAgent(r: AgentRow): AgentRecord {
  return {
    id: r.id,
    role: r.role,
    hostname: r.hostname,
    status: r.status,
    edgeDataCenterId: r.edge_data_center_id,
    computePoolId: r.compute_pool_id,
    machineType: r.machine_type,
    certificateSerial: r.certificate_serial,
    agentVersion: r.agent_version,
    inventory: r.inventory,
    lastHeartbeatAt: r.last_heartbeat_at ? new Date(r.last_heartbeat_at) : null,
    enrolledAt: new Date(r.enrolled_at),
    updatedAt: new Date(r.updated_at),
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
    computeMachineId: r.compute_machine_id,
    // A session row left by a hub that died names no holder once the agent is no longer connected.
    hubId: r.status === "connected" ? r.hub_id : null,
  };
}

function agentQuery(knex: Knex) {
  return knex("agents as a")
    .leftJoin("compute_machines as m", function () {
      this.on("m.agent_id", "=", "a.id").andOnNull("m.deleted_at");
    })
    .leftJoin("agent_sessions as s", "s.agent_id", "a.id")
    .select<AgentRow[]>(
      "a.id",
      "a.role",
      "a.hostname",
      "a.status",
      "a.edge_data_center_id",
      "a.compute_pool_id",
      "a.machine_type",
      "a.certificate_serial",
      "a.agent_version",
      "a.inventory",
      "a.last_heartbeat_at",
      "a.enrolled_at",
      "a.updated_at",
      "a.revoked_at",
      "m.id as compute_machine_id",
      "s.hub_id",
    );
}

/** `agentId` must be a well-formed id (the service checks it with requireId). */
export async function getAgent(knex: Knex, agentId: string): Promise<AgentRecord> {
  const [row] = await agentQuery(knex).where("a.id", agentId);
  if (!row) throw new NotFoundError("agent", agentId);
  return toAgent(row);
}

export interface AgentListQuery {
  role: AgentRole | null;
  status: AgentStatus | null;
}

/** A page of agents in enrollment order (UUIDv7 ids), keyset-paginated so pages hold while agents enroll. */
export async function listAgents(knex: Knex, query: AgentListQuery, page: PageRequest): Promise<Page<AgentRecord>> {
  const q = agentQuery(knex)
    .orderBy("a.id")
    .limit(page.pageSize + 1);
  if (query.role) q.where("a.role", query.role);
  if (query.status) q.where("a.status", query.status);
  if (page.after) q.where("a.id", ">", requireId("page_token", page.after[0]!));
  return pageOf((await q).map(toAgent), page, (a) => [a.id]);
}

/** Revokes the agent's certificate (by marking the agent); its stream is closed by the holder on NOTIFY. */
/** Revoking a revoked agent changes nothing (and returns it as it is, `changed` false). */
export async function revokeAgent(
  trx: Knex.Transaction,
  agentId: string,
  reason: string,
  now: Date,
): Promise<{ agent: AgentRecord; changed: boolean }> {
  await getAgent(trx, agentId);
  const moved = await moveAgents(trx, [agentId], "revoked", {
    revoked_at: now,
    revoked_reason: reason,
    updated_at: now,
  });
  if (moved.length > 0) {
    await trx("agent_sessions").where({ agent_id: agentId }).delete();
    await moveMachinesOfAgents(trx, [agentId], AGENT_LOST, now);
    await cloudBoxes.moveBoxesOfAgents(trx, [agentId], cloudBoxes.AGENT_LOST, now);
  }
  return { agent: await getAgent(trx, agentId), changed: moved.length > 0 };
}

/** A stream closed: if it was still the agent's current session, the agent is disconnected at once. */
export async function closeSession(knex: Knex, agentId: string, sessionId: string, now: Date): Promise<boolean> {
  return knex.transaction(async (trx) => {
    // RETURNING, not the affected count: knex-pglite answers delete() with a result object, not a number.
    const gone = await trx("agent_sessions")
      .where({ agent_id: agentId, session_id: sessionId })
      .delete()
      .returning<{ agent_id: string }[]>("agent_id");
    if (gone.length === 0) return false;
    const moved = await moveAgents(trx, [agentId], "disconnected", { disconnected_at: now, updated_at: now });
    // A box is offline as soon as its stream closes (a machine waits for the liveness window).
    await cloudBoxes.moveBoxesOfAgents(trx, moved, cloudBoxes.AGENT_LOST, now);
    return true;
  });
}

/**
 * Closes every session this hub holds, in one transaction: at start, the ones a killed previous run
 * left behind; at a graceful stop, all drained streams at once (one statement pair instead of a
 * transaction per stream, which kept a 10 000-agent hub stopping for 19 s). An agent that has
 * already opened a session elsewhere stays connected.
 */
export async function closeHubSessions(knex: Knex, hubId: string, now: Date): Promise<number> {
  return knex.transaction(async (trx) => {
    const rows = await trx("agent_sessions")
      .where({ hub_id: hubId })
      .delete()
      .returning<{ agent_id: string }[]>("agent_id");
    if (rows.length === 0) return 0;
    const stillElsewhere = trx("agent_sessions").select("agent_id");
    const ids = whereUuidIn(
      trx("agents").select("id"),
      "id",
      rows.map((r) => r.agent_id),
    ).whereNotIn("id", stillElsewhere);
    const moved = await moveAgents(trx, ids, "disconnected", { disconnected_at: now, updated_at: now });
    await cloudBoxes.moveBoxesOfAgents(trx, moved, cloudBoxes.AGENT_LOST, now);
    return rows.length;
  });
}
