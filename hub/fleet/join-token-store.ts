import type { Knex } from "knex";
import { hashJoinTokenSecret, newJoinTokenSecret } from "../../lib/join-token/join-token.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { requireId } from "../api/resource-id.js";
import { newId } from "../db/ids.js";
import { InvalidArgumentError, NotFoundError, PermissionDeniedError } from "../domain/errors.js";
import type { AgentRole, MachineType } from "./fleet-enums.js";

const MAX_TTL_SECONDS = 30 * 24 * 3600;

export interface CreateJoinTokenInput {
  role: AgentRole;
  /** Well-formed ids (the service checks them). */
  edgeDataCenterId: string;
  computePoolId: string | null;
  machineType: MachineType | null;
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

/** A join token as the admin API shows it (never its secret). */
export interface JoinToken {
  id: string;
  role: AgentRole;
  edgeDataCenterId: string | null;
  computePoolId: string | null;
  machineType: MachineType | null;
  description: string;
  maxUses: number;
  useCount: number;
  expiresAt: Date;
  revokedAt: Date | null;
  createdAt: Date;
}

interface JoinTokenViewRow {
  id: string;
  role: AgentRole;
  edge_data_center_id: string | null;
  compute_pool_id: string | null;
  machine_type: MachineType | null;
  description: string;
  max_uses: number;
  use_count: number;
  expires_at: Date;
  revoked_at: Date | null;
  created_at: Date;
}

const VIEW_COLUMNS = [
  "id",
  "role",
  "edge_data_center_id",
  "compute_pool_id",
  "machine_type",
  "description",
  "max_uses",
  "use_count",
  "expires_at",
  "revoked_at",
  "created_at",
];

function toJoinToken(r: JoinTokenViewRow): JoinToken {
  return {
    id: r.id,
    role: r.role,
    edgeDataCenterId: r.edge_data_center_id,
    computePoolId: r.compute_pool_id,
    machineType: r.machine_type,
    description: r.description,
    maxUses: r.max_uses,
    useCount: r.use_count,
    expiresAt: new Date(r.expires_at),
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
    createdAt: new Date(r.created_at),
  };
}

/** `id` must be well-formed (the service checks it). */
export async function getJoinToken(knex: Knex, id: string): Promise<JoinToken> {
  const row = await knex("join_tokens").where({ id }).first<JoinTokenViewRow | undefined>(VIEW_COLUMNS);
  if (!row) throw new NotFoundError("join token", id);
  return toJoinToken(row);
}

/** Tokens in creation order (UUIDv7 ids), keyset-paginated. */
export async function listJoinTokens(knex: Knex, page: PageRequest): Promise<Page<JoinToken>> {
  const q = knex("join_tokens")
    .select<JoinTokenViewRow[]>(VIEW_COLUMNS)
    .orderBy("id")
    .limit(page.pageSize + 1);
  if (page.after) q.where("id", ">", requireId("page_token", page.after[0]!));
  return pageOf((await q).map(toJoinToken), page, (t) => [t.id]);
}

/** Mints a token; only the secret's hash is stored, the secret is returned once. */
export async function createJoinToken(
  trx: Knex.Transaction,
  input: CreateJoinTokenInput,
): Promise<{ token: JoinToken; secret: string }> {
  if (input.role === "compute" && !input.computePoolId)
    throw new InvalidArgumentError("compute_pool_id", "is required for compute machines");
  if (input.machineType && input.role !== "compute")
    throw new InvalidArgumentError("machine_type", "applies to compute machines only");
  if (input.ttlSeconds <= 0 || input.ttlSeconds > MAX_TTL_SECONDS)
    throw new InvalidArgumentError("ttl_seconds", `must be from 1 to ${MAX_TTL_SECONDS}`);
  if (input.maxUses <= 0 || input.maxUses > 100_000)
    throw new InvalidArgumentError("max_uses", "must be from 1 to 100000");
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
    id,
    secret_hash: hashJoinTokenSecret(secret),
    role: input.role,
    edge_data_center_id: input.edgeDataCenterId,
    compute_pool_id: input.computePoolId || null,
    machine_type: input.machineType || null,
    description: input.description,
    max_uses: input.maxUses,
    expires_at: expiresAt,
    created_at: input.now,
    created_by: input.createdBy,
  });
  return { token: await getJoinToken(trx, id), secret };
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
    .first<JoinTokenRow | undefined>(
      "id",
      "role",
      "edge_data_center_id",
      "compute_pool_id",
      "machine_type",
      "max_uses",
      "use_count",
      "expires_at",
      "revoked_at",
    );
  if (!row) throw new JoinTokenRefusedError("Cannot enroll: the join token is not known to this hub", "TOKEN_UNKNOWN");
  if (row.revoked_at) throw new JoinTokenRefusedError("Cannot enroll: the join token was revoked", "TOKEN_REVOKED");
  if (new Date(row.expires_at).getTime() <= now.getTime())
    throw new JoinTokenRefusedError(
      `Cannot enroll: the join token expired at ${new Date(row.expires_at).toISOString()}`,
      "TOKEN_EXPIRED",
    );
  if (row.use_count >= row.max_uses)
    throw new JoinTokenRefusedError(
      `Cannot enroll: the join token is used up (${row.max_uses} of ${row.max_uses} uses)`,
      "TOKEN_EXHAUSTED",
    );
  await trx("join_tokens").where({ id: row.id }).increment("use_count", 1);
  return {
    tokenId: row.id,
    role: row.role,
    edgeDataCenterId: row.edge_data_center_id,
    computePoolId: row.compute_pool_id,
    machineType: row.machine_type,
  };
}

/** Revoking twice keeps the first revocation time. `id` must be well-formed. */
export async function revokeJoinToken(trx: Knex.Transaction, id: string, now: Date): Promise<JoinToken> {
  const [row] = await trx("join_tokens")
    .where({ id })
    .update({ revoked_at: trx.raw("COALESCE(revoked_at, ?)", [now]) })
    .returning<JoinTokenViewRow[]>(VIEW_COLUMNS);
  if (!row) throw new NotFoundError("join token", id);
  return toJoinToken(row);
}

/**
 * Enrollment refused because of the token. permission_denied on the agent endpoint (gRPC status
 * codes there); `reason` (TOKEN_UNKNOWN, TOKEN_REVOKED, TOKEN_EXPIRED, TOKEN_EXHAUSTED) says which.
 */
export class JoinTokenRefusedError extends PermissionDeniedError {
  constructor(
    message: string,
    readonly reason: "TOKEN_UNKNOWN" | "TOKEN_REVOKED" | "TOKEN_EXPIRED" | "TOKEN_EXHAUSTED",
  ) {
    super(message);
  }
}
