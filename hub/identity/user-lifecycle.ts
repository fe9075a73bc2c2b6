import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { clearAllFailures, isLockedAnywhere } from "../auth/login-failures.js";
import { hashPassword } from "../auth/password-hash.js";
import { revokeUserTokens } from "../auth/token-store.js";
import { recordChange } from "../audit/record-change.js";
import { FailedPreconditionError } from "../domain/errors.js";
import type { UserStatus } from "./identity-enums.js";
import { getUser, lockUserRow, type User } from "./user-store.js";

/** The state changes of an account; its status is set by nothing else. */
export type UserVerb = "disable" | "enable" | "lock" | "unlock";

/** Where a verb takes an account: a new status, or "unchanged" when it is there already. */
export type UserTransition = { to: UserStatus } | "unchanged";

/**
 * The guarded state machine of 000 §5.2 (active, inactive, locked). `lockedOut` is a temporary
 * lockout after failed logins, which unlock also clears. Enable and unlock do not stand in for
 * each other, so that re-enabling a disabled account never silently unlocks one an administrator
 * locked (and the reverse): the refusal names the verb to use.
 */
export function userTransition(verb: UserVerb, from: UserStatus, lockedOut: boolean, id: string): UserTransition {
  switch (verb) {
    case "disable":
      return from === "inactive" ? "unchanged" : { to: "inactive" };
    case "lock":
      return from === "locked" ? "unchanged" : { to: "locked" };
    case "enable":
      if (from === "locked")
        throw new FailedPreconditionError(`Cannot enable user ${id}: it is locked; unlock it instead`, {
          reason: "USER_LOCKED",
          metadata: { user_id: id },
        });
      return from === "active" && !lockedOut ? "unchanged" : { to: "active" };
    case "unlock":
      if (from === "inactive")
        throw new FailedPreconditionError(`Cannot unlock user ${id}: it is disabled; enable it instead`, {
          reason: "USER_INACTIVE",
          metadata: { user_id: id },
        });
      return from === "active" && !lockedOut ? "unchanged" : { to: "active" };
  }
}

/**
 * Applies a verb; `authorize` sees the locked current row first. Leaving `active` revokes every
 * token of the account at once; entering it clears the failed-login counter and any lockout.
 * A verb that changes nothing writes nothing (no audit row), so a retry is harmless.
 */
export async function changeUserStatus(
  knex: Knex,
  ctx: Caller,
  id: string,
  verb: UserVerb,
  authorize: (current: User) => void,
): Promise<User> {
  return knex.transaction(async (trx) => {
    const before = await lockUserRow(trx, id);
    authorize(before);
    const move = userTransition(verb, before.status, await isLockedAnywhere(trx, id, ctx.at), id);
    if (move === "unchanged") return before;
    const row: Record<string, unknown> = { status: move.to, updated_at: ctx.at, updated_by: ctx.principal.userId };
    if (move.to === "active") {
      Object.assign(row, { failed_login_count: 0, failed_login_window_started_at: null, locked_until: null });
      await clearAllFailures(trx, id);
    }
    await trx("users").where("id", id).update(row);
    if (move.to !== "active") await revokeUserTokens(trx, id, ctx.at);
    const after = await getUser(trx, id);
    await recordChange(trx, ctx, {
      tenantId: before.tenantId,
      action: `user.${verb}`,
      targetType: "user",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

/** Replaces the password and ends every session of the account (the audit row holds no secret). */
export async function setUserPassword(
  knex: Knex,
  ctx: Caller,
  id: string,
  password: string,
  authorize: (current: User) => void,
): Promise<User> {
  const passwordHash = await hashPassword(password); // outside the transaction: scrypt is slow
  return knex.transaction(async (trx) => {
    const before = await lockUserRow(trx, id);
    authorize(before);
    await trx("users")
      .where("id", id)
      .update({ password_hash: passwordHash, updated_at: ctx.at, updated_by: ctx.principal.userId });
    await revokeUserTokens(trx, id, ctx.at);
    await recordChange(trx, ctx, {
      tenantId: before.tenantId,
      action: "user.set_password",
      targetType: "user",
      targetId: id,
    });
    return getUser(trx, id);
  });
}
