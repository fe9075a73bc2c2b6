import type { Knex } from "knex";

/** Advisory-lock keys of the fleet's background loops (one namespace per loop). */
export const LEASE_KEYS = { liveness: 0x666c7431, expiry: 0x666c7432 } as const;

/**
 * Runs `fn` in a transaction holding a transaction-scoped advisory lock, or skips it when another
 * hub holds the lock: N hubs share a loop without double work and without a lease table. The lock
 * ends with the transaction, so a killed hub never leaves it behind.
 */
export async function withLease<T>(knex: Knex, key: number, fn: (trx: Knex.Transaction) => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
  return knex.transaction(async (trx) => {
    const res = (await trx.raw("SELECT pg_try_advisory_xact_lock(?) AS ok", [key])) as { rows: { ok: boolean }[] };
    if (!res.rows[0]?.ok) return { ran: false as const };
    return { ran: true as const, value: await fn(trx) };
  });
}
