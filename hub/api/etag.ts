import { createHash } from "node:crypto";
import { ConflictError } from "../domain/errors.js";

/**
 * A resource's etag (AIP-154): a digest of what the API shows of it, so it changes exactly when the
 * resource does, needs no column, and is the same on every hub. `view` is the domain object (or
 * whatever part of it a client can see); dates are taken to the millisecond.
 */
export function etagOf(view: unknown): string {
  return createHash("sha256").update(stableJson(view)).digest("base64url").slice(0, 22);
}

/**
 * Refuses an update whose etag is not the current one (`aborted`, reason ETAG_MISMATCH): someone
 * changed the resource since the caller read it. An empty etag skips the check (read-modify-write
 * is opt-in, as in AIP-154). Call it inside the update's transaction, on the row read FOR UPDATE.
 */
export function checkEtag(requested: string, current: unknown, resource: string, id: string): void {
  if (requested === "" || requested === etagOf(current)) return;
  throw new ConflictError(
    `Cannot update ${resource} ${id}: it changed since it was read (stale etag); read it again and retry`,
    {
      reason: "ETAG_MISMATCH",
      metadata: { resource, id },
    },
  );
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Date) return v.toISOString();
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}
