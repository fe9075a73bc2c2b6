import { createHash, randomBytes } from "node:crypto";
import type { Knex } from "knex";
import { newId } from "../db/ids.js";
import { ROLE, type Principal } from "../api/principal.js";

function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/** Mints an opaque bearer token; only its SHA-256 is stored, so a database dump holds no usable tokens. */
export async function issueToken(
  trx: Knex.Transaction,
  userId: string,
  now: Date,
  ttlSeconds: number,
): Promise<IssuedToken> {
  const token = `ehb_${randomBytes(32).toString("base64url")}`;
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  await trx("auth_tokens").insert({
    id: newId(),
    user_id: userId,
    token_hash: tokenHash(token),
    expires_at: expiresAt,
    created_at: now,
  });
  return { token, expiresAt };
}

export interface ResolvedToken {
  principal: Principal;
  expiresAt: Date;
}

/** Finds the active user behind a live token, or undefined. */
export async function resolveToken(knex: Knex, token: string, now: Date): Promise<ResolvedToken | undefined> {
  const row = await knex("auth_tokens as t")
    .join("users as u", "u.id", "t.user_id")
    .where("t.token_hash", tokenHash(token))
    .whereNull("t.revoked_at")
    .where("t.expires_at", ">", now)
    .whereNull("u.deleted_at")
    .where("u.status", "active")
    .first("u.id", "u.username", "u.role", "u.tenant_id", "t.expires_at");
  if (!row || !ROLE.isDbValue(row.role)) return undefined;
  return {
    principal: { userId: row.id, username: row.username, role: row.role, tenantId: row.tenant_id ?? null },
    expiresAt: new Date(row.expires_at),
  };
}

export async function revokeToken(trx: Knex.Transaction, token: string, now: Date): Promise<void> {
  await trx("auth_tokens").where("token_hash", tokenHash(token)).whereNull("revoked_at").update({ revoked_at: now });
}

/** Revokes every live token of a user but `keep` (the caller's own, on a password change). */
export async function revokeOtherTokens(
  trx: Knex.Transaction,
  userId: string,
  keep: string,
  now: Date,
): Promise<number> {
  return trx("auth_tokens")
    .where("user_id", userId)
    .whereNot("token_hash", tokenHash(keep))
    .whereNull("revoked_at")
    .update({ revoked_at: now });
}

/** Revokes every live token of a user (on lock, disable or delete). */
export async function revokeUserTokens(trx: Knex.Transaction, userId: string, now: Date): Promise<void> {
  await trx("auth_tokens").where("user_id", userId).whereNull("revoked_at").update({ revoked_at: now });
}
