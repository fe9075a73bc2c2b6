import type { Knex } from "knex";

/** Failed logins from one address within the window that lock the account for that address. */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_MS = 15 * 60 * 1000;
/**
 * The hub-wide backstop: this many failures from all addresses within the window lock the account
 * everywhere. High enough that one stranger cannot lock `admin` out (they are stopped at
 * LOCKOUT_THRESHOLD per address), low enough that a spread-out guessing campaign still stops.
 */
export const GLOBAL_LOCKOUT_THRESHOLD = 50;

export type Lockout = { scope: "address" | "account"; until: Date } | undefined;

interface FailureRow {
  failure_count: number;
  window_started_at: Date;
  locked_until: Date | null;
}

/** The lockout that applies to this user from this address now, if any. Call with the user row locked. */
export async function activeLockout(
  trx: Knex.Transaction,
  user: { id: string; locked_until: Date | null },
  address: string,
  now: Date,
): Promise<Lockout> {
  if (user.locked_until && new Date(user.locked_until) > now)
    return { scope: "account", until: new Date(user.locked_until) };
  const row = await trx("login_failures")
    .where({ user_id: user.id, source_address: address })
    .first<FailureRow | undefined>();
  if (row?.locked_until && new Date(row.locked_until) > now)
    return { scope: "address", until: new Date(row.locked_until) };
  return undefined;
}

/** The account-wide backstop's counters, as on the user row the caller locked. */
export interface AccountFailures {
  id: string;
  failed_login_count: number;
  failed_login_window_started_at: Date | null;
}

/** How a caller's address is keyed (bounded, never empty). */
export function failureSource(address: string): string {
  return address.slice(0, 64) || "unknown";
}

/**
 * Counts one failure for (user, address) and, past the thresholds, locks the address or the account.
 * Returns what this failure locked, so the caller audits it. Call with the user row locked (the
 * counters of one user are serialised by that lock).
 */
export async function countFailure(
  trx: Knex.Transaction,
  user: AccountFailures,
  address: string,
  now: Date,
): Promise<{ failures: number; locked: Lockout }> {
  const userId = user.id;
  const windowStart = new Date(now.getTime() - LOCKOUT_MS);
  const row = await trx("login_failures")
    .where({ user_id: userId, source_address: address })
    .first<FailureRow | undefined>();
  const fresh = !row || new Date(row.window_started_at) <= windowStart;
  const failures = fresh ? 1 : row.failure_count + 1;
  const locksAddress = failures >= LOCKOUT_THRESHOLD;
  const values = {
    failure_count: locksAddress ? 0 : failures,
    window_started_at: fresh || locksAddress ? now : row.window_started_at,
    locked_until: locksAddress ? new Date(now.getTime() + LOCKOUT_MS) : null,
  };
  if (row) await trx("login_failures").where({ user_id: userId, source_address: address }).update(values);
  else await trx("login_failures").insert({ user_id: userId, source_address: address, ...values });

  const userWindow = user.failed_login_window_started_at ? new Date(user.failed_login_window_started_at) : undefined;
  const freshAccountWindow = !userWindow || userWindow <= windowStart;
  const total = freshAccountWindow ? 1 : user.failed_login_count + 1;
  const locksAccount = total >= GLOBAL_LOCKOUT_THRESHOLD;
  await trx("users")
    .where("id", userId)
    .update({
      failed_login_count: locksAccount ? 0 : total,
      failed_login_window_started_at: freshAccountWindow || locksAccount ? now : userWindow,
      locked_until: locksAccount ? new Date(now.getTime() + LOCKOUT_MS) : null,
    });
  const locked: Lockout = locksAccount
    ? { scope: "account", until: new Date(now.getTime() + LOCKOUT_MS) }
    : locksAddress
      ? { scope: "address", until: values.locked_until! }
      : undefined;
  return { failures, locked };
}

/** A successful login from an address clears that address's counter and the account's backstop. */
export async function clearFailures(trx: Knex.Transaction, userId: string, address: string): Promise<void> {
  await trx("login_failures").where({ user_id: userId, source_address: address }).delete();
  await trx("users")
    .where("id", userId)
    .update({ failed_login_count: 0, failed_login_window_started_at: null, locked_until: null });
}

/** UnlockUser/EnableUser: every lockout of the account ends. */
export async function clearAllFailures(trx: Knex.Transaction, userId: string): Promise<void> {
  await trx("login_failures").where("user_id", userId).delete();
}

/** Whether any lockout (account-wide or from some address) holds the account now. */
export async function isLockedAnywhere(trx: Knex.Transaction, userId: string, now: Date): Promise<boolean> {
  const user = await trx("users").where("id", userId).first<{ locked_until: Date | null }>("locked_until");
  if (user?.locked_until && new Date(user.locked_until) > now) return true;
  const row = await trx("login_failures").where("user_id", userId).where("locked_until", ">", now).first("user_id");
  return row !== undefined;
}
