import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { recordAudit } from "../audit/audit-writer.js";
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from "../domain/errors.js";
import { UNUSABLE_PASSWORD_HASH, verifyPassword } from "./password-hash.js";
import { ROLE, type Principal } from "../api/principal.js";
import { issueToken, type IssuedToken } from "./token-store.js";
import { activeLockout, clearFailures, countFailure, failureSource } from "./login-failures.js";

export { LOCKOUT_MS, LOCKOUT_THRESHOLD, GLOBAL_LOCKOUT_THRESHOLD } from "./login-failures.js";
const MAX_CREDENTIAL_LENGTH = 1024;

export interface LoginInput {
  username: string;
  password: string;
  /** Tenant name (optional: usernames are unique hub-wide); when given it must be the user's. */
  tenant: string;
  /** The caller's IP address: failures are counted per user and address. */
  sourceAddress: string;
}

export interface LoginDeps {
  knex: Knex;
  clock: Clock;
  tokenTtlSeconds: number;
}

export interface LoginResult extends IssuedToken {
  principal: Principal;
}

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  role: string;
  status: string;
  tenant_id: string | null;
  failed_login_count: number;
  failed_login_window_started_at: Date | null;
  locked_until: Date | null;
}

const FAILED = "Login failed: invalid username or password";

function validate(input: LoginInput): void {
  if (input.username.trim() === "") throw new InvalidArgumentError("username", "must not be empty");
  if (input.password === "") throw new InvalidArgumentError("password", "must not be empty");
  if (input.username.length > MAX_CREDENTIAL_LENGTH)
    throw new InvalidArgumentError("username", `must be at most ${MAX_CREDENTIAL_LENGTH} characters`);
  if (input.password.length > MAX_CREDENTIAL_LENGTH)
    throw new InvalidArgumentError("password", `must be at most ${MAX_CREDENTIAL_LENGTH} characters`);
}

async function findCandidate(knex: Knex, input: LoginInput): Promise<UserRow | undefined> {
  const query = knex("users as u")
    .whereNull("u.deleted_at")
    .whereRaw("lower(u.username) = lower(?)", [input.username.trim()])
    .select<UserRow[]>(
      "u.id",
      "u.username",
      "u.password_hash",
      "u.role",
      "u.status",
      "u.tenant_id",
      "u.failed_login_count",
      "u.locked_until",
    );
  if (input.tenant.trim() !== "") {
    query
      .join("tenants as t", "t.id", "u.tenant_id")
      .whereNull("t.deleted_at")
      .whereRaw("lower(t.name) = lower(?)", [input.tenant.trim()]);
  }
  // Usernames are unique hub-wide (users_username_unique_live): at most one row. A tenant, when
  // given, must match, so a qualified login of the wrong tenant fails like a wrong password.
  return query.first();
}

/**
 * Checks credentials and issues a token. Failures are counted under a row lock so that
 * concurrent attempts cannot slip past the lockout; the password check itself runs outside the
 * transaction so a slow scrypt never holds the row.
 */
export async function login(deps: LoginDeps, input: LoginInput, requestId: string): Promise<LoginResult> {
  validate(input);
  const candidate = await findCandidate(deps.knex, input);
  const passwordOk = await verifyPassword(input.password, candidate?.password_hash ?? UNUSABLE_PASSWORD_HASH);
  if (!candidate) throw new UnauthenticatedError(FAILED);

  const address = failureSource(input.sourceAddress);
  const outcome = await deps.knex.transaction(async (trx) => {
    const user = await trx("users").where("id", candidate.id).forUpdate().first<UserRow>();
    if (!user) return { error: new UnauthenticatedError(FAILED) };
    const now = deps.clock.now();
    const actor = { userId: user.id, username: user.username };
    const lockout = await activeLockout(trx, user, address, now);
    // A wrong password answers exactly like an unknown user, whatever the account's state: only
    // the right password learns that the account is locked, disabled or its tenant suspended.
    if (!passwordOk) {
      if (lockout) return { error: new UnauthenticatedError(FAILED) }; // counting stops while locked
      const { failures, locked } = await countFailure(trx, user, address, now);
      await recordAudit(trx, {
        actor,
        tenantId: user.tenant_id,
        action: locked ? "auth.lockout" : "auth.login_failed",
        targetType: "user",
        targetId: user.id,
        after: {
          failed_login_count: failures,
          source_address: address,
          ...(locked ? { lockout_scope: locked.scope, locked_until: locked.until.toISOString() } : {}),
        },
        requestId,
        at: now,
      });
      return { error: new UnauthenticatedError(FAILED) };
    }
    if (lockout) {
      return {
        error: new PermissionDeniedError(
          `Login refused: account is locked ${lockout.scope === "address" ? "for this address " : ""}until ${lockout.until.toISOString()} after repeated failed attempts`,
        ),
      };
    }
    if (user.status !== "active") {
      return { error: new PermissionDeniedError(`Login refused: account is ${user.status}`) };
    }
    if (user.tenant_id) {
      const tenant = await trx("tenants").where("id", user.tenant_id).first("status", "deleted_at");
      if (!tenant || tenant.deleted_at || tenant.status !== "active") {
        return {
          error: new PermissionDeniedError(
            `Login refused: tenant is ${tenant?.deleted_at ? "deleted" : tenant?.status}`,
          ),
        };
      }
    }
    if (!ROLE.isDbValue(user.role))
      return { error: new PermissionDeniedError(`Login refused: account has unknown role ${user.role}`) };
    await clearFailures(trx, user.id, address);
    await trx("users").where("id", user.id).update({ last_login_at: now });
    const issued = await issueToken(trx, user.id, now, deps.tokenTtlSeconds);
    await recordAudit(trx, {
      actor,
      tenantId: user.tenant_id,
      action: "auth.login",
      targetType: "user",
      targetId: user.id,
      requestId,
      at: now,
    });
    const principal: Principal = {
      userId: user.id,
      username: user.username,
      role: user.role,
      tenantId: user.tenant_id,
    };
    return { result: { ...issued, principal } };
  });
  // Failed attempts commit their counters before the error reaches the caller.
  if ("error" in outcome) throw outcome.error;
  return outcome.result;
}
