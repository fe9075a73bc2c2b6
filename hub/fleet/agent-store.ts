import type { Knex } from "knex";
import type { HostInventory } from "../../lib/host-facts/host-facts.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { decodePageToken, pageOf, pageSizeOf } from "../identity/page-token.js";
import { isAgentRole, type AgentRole, type MachineType } from "./agent-role.js";
import { isUuid } from "./command-store.js";
import { whereUuidIn } from "../db/uuid-array.js";

/** An agent's connection status as the fleet sees it (revoked is final). */
export type AgentStatus = "enrolled" | "connected" | "disconnected" | "offline" | "revoked";

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
  revokedAt: Date | null;
  computeMachineId: string | null;
  hubId: string | null;
}

interface AgentRow {
  id: string; role: AgentRole; hostname: string; status: AgentStatus; edge_data_center_id: string | null; compute_pool_id: string | null;
  machine_type: MachineType | null; certificate_serial: string; agent_version: string; inventory: HostInventory | null;
  last_heartbeat_at: Date | null; enrolled_at: Date; revoked_at: Date | null; compute_machine_id: string | null; hub_id: string | null;
}

function toAgent(r: AgentRow): AgentRecord {
  return {
    id: r.id, role: r.role, hostname: r.hostname, status: r.status, edgeDataCenterId: r.edge_data_center_id, computePoolId: r.compute_pool_id,
    machineType: r.machine_type, certificateSerial: r.certificate_serial, agentVersion: r.agent_version, inventory: r.inventory,
    lastHeartbeatAt: r.last_heartbeat_at ? new Date(r.last_heartbeat_at) : null, enrolledAt: new Date(r.enrolled_at),
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null, computeMachineId: r.compute_machine_id,
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
      "a.id", "a.role", "a.hostname", "a.status", "a.edge_data_center_id", "a.compute_pool_id", "a.machine_type", "a.certificate_serial",
      "a.agent_version", "a.inventory", "a.last_heartbeat_at", "a.enrolled_at", "a.revoked_at", "m.id as compute_machine_id", "s.hub_id",
    );
}

export async function getAgent(knex: Knex, agentId: string): Promise<AgentRecord> {
  if (!isUuid(agentId)) throw new InvalidArgumentError("agent_id", "must be a UUID");
  const [row] = await agentQuery(knex).where("a.id", agentId);
  if (!row) throw new NotFoundError("agent", agentId);
  return toAgent(row);
}

const AGENT_STATUSES: readonly AgentStatus[] = ["enrolled", "connected", "disconnected", "offline", "revoked"];

export interface AgentListQuery {
  role: string;
  status: string;
  pageSize: number;
  pageToken: string;
}

/** A page of agents in enrollment order (UUIDv7 ids), keyset-paginated so pages hold while agents enroll. */
export async function listAgents(knex: Knex, query: AgentListQuery): Promise<{ items: AgentRecord[]; nextPageToken: string }> {
  if (query.role && !isAgentRole(query.role)) throw new InvalidArgumentError("role", `must be one of compute, ceph_gateway, cloud_box, got "${query.role}"`);
  if (query.status && !AGENT_STATUSES.includes(query.status as AgentStatus)) throw new InvalidArgumentError("status", `must be one of ${AGENT_STATUSES.join(", ")}, got "${query.status}"`);
  const size = pageSizeOf(query.pageSize);
  const after = decodePageToken(query.pageToken, 1);
  const q = agentQuery(knex).orderBy("a.id").limit(size + 1);
  if (query.role) q.where("a.role", query.role);
  if (query.status) q.where("a.status", query.status);
  if (after) {
    if (!isUuid(after[0]!)) throw new InvalidArgumentError("page_token", "is not a token returned by this list");
    q.where("a.id", ">", after[0]!);
  }
  return pageOf((await q).map(toAgent), size, (a) => [a.id]);
}

/** Revokes the agent's certificate (by marking the agent); its stream is closed by the holder on NOTIFY. */
export async function revokeAgent(trx: Knex.Transaction, agentId: string, reason: string, now: Date): Promise<AgentRecord> {
  const agent = await getAgent(trx, agentId);
  await trx("agents").where({ id: agentId }).update({ status: "revoked", revoked_at: agent.revokedAt ?? now, revoked_reason: reason, updated_at: now });
  await trx("agent_sessions").where({ agent_id: agentId }).delete();
  await trx("compute_machines").where({ agent_id: agentId, status: "active" }).update({ status: "offline", updated_at: now });
  return { ...agent, status: "revoked", revokedAt: agent.revokedAt ?? now };
}

/** A stream closed: if it was still the agent's current session, the agent is disconnected at once. */
export async function closeSession(knex: Knex, agentId: string, sessionId: string, now: Date): Promise<boolean> {
  return knex.transaction(async (trx) => {
    // RETURNING, not the affected count: knex-pglite answers delete() with a result object, not a number.
    const gone = await trx("agent_sessions").where({ agent_id: agentId, session_id: sessionId }).delete().returning<{ agent_id: string }[]>("agent_id");
    if (gone.length === 0) return false;
    await trx("agents").where({ id: agentId, status: "connected" }).update({ status: "disconnected", disconnected_at: now, updated_at: now });
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
    const rows = await trx("agent_sessions").where({ hub_id: hubId }).delete().returning<{ agent_id: string }[]>("agent_id");
    if (rows.length === 0) return 0;
    await whereUuidIn(trx("agents"), "id", rows.map((r) => r.agent_id))
      .where({ status: "connected" })
      .whereNotExists(trx("agent_sessions").select(trx.raw("1")).whereRaw("agent_sessions.agent_id = agents.id"))
      .update({ status: "disconnected", disconnected_at: now, updated_at: now });
    return rows.length;
  });
}
