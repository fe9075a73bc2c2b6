import { toConnectError } from "../api/connect-errors.js";

/** One item of a batch: done with its value, or refused with the error it would have had alone. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs `fn` for each item in order, each in its own transaction (the caller's `fn` opens it), so
 * one refusal never stops or undoes the others (000 §2.5.4). A refusal the API would answer with a
 * code of its own (a domain error, a constraint) is the item's outcome; anything else is a bug and
 * fails the whole call.
 */
export async function eachItem<I, T>(
  items: readonly I[],
  fn: (item: I, index: number) => Promise<T>,
): Promise<Outcome<T>[]> {
  const out: Outcome<T>[] = [];
  for (const [i, item] of items.entries()) {
    try {
      out.push({ ok: true, value: await fn(item, i) });
    } catch (error) {
      if (toConnectError(error) === undefined) throw error;
      out.push({ ok: false, error });
    }
  }
  return out;
}
