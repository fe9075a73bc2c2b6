import type { Knex } from "knex";

/**
 * Runs `fn` in a transaction holding a transaction-scoped advisory lock, or skips it when another
 * hub holds the lock: N hubs share a loop without double work and without a lease table. The lock
 * ends with the transaction, so a killed hub never leaves it behind. Keys come from
 * hub/db/advisory-lock-keys.ts.
 */
export async function withLease<T>(
  knex: Knex,
  key: number,
  fn: (trx: Knex.Transaction) => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  return knex.transaction(async (trx) => {
    const res = (await trx.raw("SELECT pg_try_advisory_xact_lock(?) AS ok", [key])) as { rows: { ok: boolean }[] };
    if (!res.rows[0]?.ok) return { ran: false as const };
    return { ran: true as const, value: await fn(trx) };
  });
}
