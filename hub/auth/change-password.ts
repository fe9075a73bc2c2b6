import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { InvalidArgumentError, PermissionDeniedError } from "../domain/errors.js";
import { checkPassword } from "./password-policy.js";
import { countFailure, failureSource, type AccountFailures } from "./login-failures.js";
import { hashPassword, verifyPassword } from "./password-hash.js";
import { revokeOtherTokens } from "./token-store.js";

export interface ChangePasswordInput {
  currentPassword: string;
  newPassword: string;
  /** The token of the call: it stays valid, every other session of the user ends. */
  token: string;
  sourceAddress: string;
}

/**
 * A user changes their own password. A wrong current password counts as a failed login from the
 * caller's address, so a stolen token cannot be used to guess the password without limit.
 */
export async function changeOwnPassword(knex: Knex, caller: Caller, input: ChangePasswordInput): Promise<void> {
  if (input.currentPassword === "") throw new InvalidArgumentError("current_password", "must not be empty");
  const userId = caller.principal.userId;
  const row = await knex("users").where("id", userId).whereNull("deleted_at").first("username", "password_hash");
  if (!row) throw new PermissionDeniedError("Change refused: the account no longer exists");
  const newPassword = checkPassword("new_password", input.newPassword, row.username as string);
  if (!(await verifyPassword(input.currentPassword, row.password_hash as string))) {
    await knex.transaction(async (trx) => {
      const counters = await trx("users").where("id", userId).forUpdate().first<AccountFailures>();
      if (counters) await countFailure(trx, counters, failureSource(input.sourceAddress), caller.at);
    });
    throw new PermissionDeniedError("Change refused: current_password is not the account's password");
  }
  if (newPassword === input.currentPassword)
    throw new InvalidArgumentError("new_password", "must differ from the current password");
  const hash = await hashPassword(newPassword); // outside the transaction: scrypt is slow
  await knex.transaction(async (trx) => {
    await trx("users").where("id", userId).forUpdate().first("id");
    await trx("users").where("id", userId).update({ password_hash: hash, updated_at: caller.at, updated_by: userId });
    const revoked = await revokeOtherTokens(trx, userId, input.token, caller.at);
    await recordChange(trx, caller, {
      tenantId: caller.principal.tenantId,
      action: "auth.change_password",
      targetType: "user",
      targetId: userId,
      after: { other_sessions_revoked: revoked },
    });
  });
}
