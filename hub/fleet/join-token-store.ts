import type { Knex } from "knex";
import { hashJoinTokenSecret, newJoinTokenSecret } from "../../lib/join-token/join-token.js";
import { newId } from "../db/ids.js";
import { InvalidArgumentError, NotFoundError, PermissionDeniedError } from "../domain/errors.js";
import { isAgentRole, isMachineType, type AgentRole, type MachineType } from "./agent-role.js";

const MAX_TTL_SECONDS = 30 * 24 * 3600;

export interface CreateJoinTokenInput {
  role: string;
  edgeDataCenterId: string;
  computePoolId: string | undefined;
  machineType: string | undefined;
  ttlSeconds: number;
  maxUses: number;
  description: string;
  createdBy: string | null;
  now: Date;
}

/** What a consumed token grants the enrolling agent. */
export interface JoinTokenGrant {
  readonly tokenId: string;
  readonly role: AgentRole;
  readonly edgeDataCenterId: string | null;
  readonly computePoolId: string | null;
  readonly machineType: MachineType | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Mints a token; only the secret's hash is stored, the secret is returned once. */
export async function createJoinToken(trx: Knex.Transaction, input: CreateJoinTokenInput): Promise<{ id: string; secret: string; expiresAt: Date }> {
  if (!isAgentRole(input.role)) throw new InvalidArgumentError("role", `must be compute, ceph_gateway or cloud_box, got "${input.role}"`);
  if (!UUID.test(input.edgeDataCenterId)) throw new InvalidArgumentError("edge_data_center_id", "must be the id of an edge data center");
  if (input.role === "compute" && !input.computePoolId) throw new InvalidArgumentError("compute_pool_id", "is required for compute machines");
  if (input.computePoolId && !UUID.test(input.computePoolId)) throw new InvalidArgumentError("compute_pool_id", "must be the id of a compute pool");
  if (input.machineType && !isMachineType(input.machineType)) throw new InvalidArgumentError("machine_type", `must be cpu_server, pc_farm or gpu_server, got "${input.machineType}"`);
  if (input.machineType && input.role !== "compute") throw new InvalidArgumentError("machine_type", "applies to compute machines only");
  if (input.ttlSeconds <= 0 || input.ttlSeconds > MAX_TTL_SECONDS) throw new InvalidArgumentError("ttl_seconds", `must be from 1 to ${MAX_TTL_SECONDS}`);
  if (input.maxUses <= 0 || input.maxUses > 100_000) throw new InvalidArgumentError("max_uses", "must be from 1 to 100000");
  const dc = await trx("edge_data_centers").where({ id: input.edgeDataCenterId }).whereNull("deleted_at").first("id");
  if (!dc) throw new NotFoundError("edge data center", input.edgeDataCenterId);
  if (input.computePoolId) {
    const pool = await trx("compute_pools").where({ id: input.computePoolId }).whereNull("deleted_at").first("id");
    if (!pool) throw new NotFoundError("compute pool", input.computePoolId);
  }
  const id = newId();
  const secret = newJoinTokenSecret();
  const expiresAt = new Date(input.now.getTime() + input.ttlSeconds * 1000);
  await trx("join_tokens").insert({
    id, secret_hash: hashJoinTokenSecret(secret), role: input.role, edge_data_center_id: input.edgeDataCenterId,
    compute_pool_id: input.computePoolId || null, machine_type: input.machineType || null, description: input.description,
    max_uses: input.maxUses, expires_at: expiresAt, created_at: input.now, created_by: input.createdBy,
  });
  return { id, secret, expiresAt };
}

interface JoinTokenRow {
  id: string;
  role: AgentRole;
  edge_data_center_id: string | null;
  compute_pool_id: string | null;
  machine_type: MachineType | null;
  max_uses: number;
  use_count: number;
  expires_at: Date;
  revoked_at: Date | null;
}

/** Uses the token once, inside the enrollment transaction; the row lock serialises concurrent enrollments. */
export async function consumeJoinToken(trx: Knex.Transaction, secret: string, now: Date): Promise<JoinTokenGrant> {
  const row = await trx("join_tokens")
    .where({ secret_hash: hashJoinTokenSecret(secret) })
    .forUpdate()
    .first<JoinTokenRow | undefined>("id", "role", "edge_data_center_id", "compute_pool_id", "machine_type", "max_uses", "use_count", "expires_at", "revoked_at");
  if (!row) throw new PermissionDeniedError("Cannot enroll: the join token is not known to this hub");
  if (row.revoked_at) throw new PermissionDeniedError("Cannot enroll: the join token was revoked");
  if (new Date(row.expires_at).getTime() <= now.getTime()) throw new PermissionDeniedError(`Cannot enroll: the join token expired at ${new Date(row.expires_at).toISOString()}`);
  if (row.use_count >= row.max_uses) throw new PermissionDeniedError(`Cannot enroll: the join token is used up (${row.max_uses} of ${row.max_uses} uses)`);
  await trx("join_tokens").where({ id: row.id }).increment("use_count", 1);
  return { tokenId: row.id, role: row.role, edgeDataCenterId: row.edge_data_center_id, computePoolId: row.compute_pool_id, machineType: row.machine_type };
}

export async function revokeJoinToken(trx: Knex.Transaction, id: string, now: Date): Promise<void> {
  if (!UUID.test(id)) throw new InvalidArgumentError("join_token_id", "must be a UUID");
  const rows = await trx("join_tokens").where({ id }).update({ revoked_at: trx.raw("COALESCE(revoked_at, ?)", [now]) }).returning<{ id: string }[]>("id");
  if (rows.length === 0) throw new NotFoundError("join token", id);
}
