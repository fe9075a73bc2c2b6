import { Code } from "@connectrpc/connect";

/** What a database error means to a caller: a code and a plain message that quotes no database text. */
export interface DatabaseFailure {
  readonly code: Code;
  readonly message: string;
  /** Stable ErrorInfo reason. */
  readonly reason: string;
}

const UNAVAILABLE: DatabaseFailure = Object.freeze({
  code: Code.Unavailable,
  message: "The database is unavailable; retry the call",
  reason: "DATABASE_UNAVAILABLE",
});

/** SQLSTATEs a store forgot to translate, by what they mean to a caller. */
const SQLSTATES: Record<string, DatabaseFailure> = {
  "23505": {
    code: Code.AlreadyExists,
    message: "The request conflicts with stored data (a duplicate)",
    reason: "DUPLICATE",
  },
  "23503": {
    code: Code.FailedPrecondition,
    message: "The request refers to data that does not exist or is still referenced",
    reason: "REFERENCE_CONFLICT",
  },
  "23514": {
    code: Code.InvalidArgument,
    message: "The request has a value the data model refuses",
    reason: "VALUE_REFUSED",
  },
  "23502": {
    code: Code.InvalidArgument,
    message: "The request leaves a required value empty",
    reason: "VALUE_REQUIRED",
  },
  "22P02": {
    code: Code.InvalidArgument,
    message: "The request has a value of the wrong form",
    reason: "VALUE_MALFORMED",
  },
  "22001": {
    code: Code.InvalidArgument,
    message: "The request has a value that is too long",
    reason: "VALUE_TOO_LONG",
  },
  "22021": {
    code: Code.InvalidArgument,
    message: "The request has text that is not valid UTF-8 or contains NUL",
    reason: "VALUE_MALFORMED",
  },
  "40001": { code: Code.Aborted, message: "A concurrent change won; retry the call", reason: "CONCURRENT_CHANGE" },
  "40P01": { code: Code.Aborted, message: "A concurrent change won; retry the call", reason: "CONCURRENT_CHANGE" },
  "53300": UNAVAILABLE, // too_many_connections
  "57P01": UNAVAILABLE, // admin_shutdown
  "57P02": UNAVAILABLE, // crash_shutdown
  "57P03": UNAVAILABLE, // cannot_connect_now
};

/** Socket-level failures reaching the server. */
const NETWORK_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * Classifies an error thrown by knex/pg/PGlite; undefined when it is not a database error we can
 * name (then it is an internal error). A lost connection is `unavailable` (retryable) rather than
 * `internal`. The message never carries database text (knex puts the SQL into `message`): the
 * caller logs the original with the request id.
 */
export function classifyDatabaseError(err: unknown): DatabaseFailure | undefined {
  if (err === null || typeof err !== "object") return undefined;
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === "string") {
    if (SQLSTATES[e.code]) return SQLSTATES[e.code];
    if (e.code.startsWith("08") || NETWORK_ERRNOS.has(e.code)) return UNAVAILABLE; // class 08: connection exception
  }
  if (e.name === "KnexTimeoutError") return UNAVAILABLE; // no pool connection could be had in time
  // node-postgres reports a dropped connection without a code; its wording is stable across 8.x.
  if (
    typeof e.message === "string" &&
    /Connection terminated|connection error and is not queryable|PGlite is closed/.test(e.message)
  )
    return UNAVAILABLE;
  return undefined;
}
