import { Code, ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";
import { UsageError } from "./usage-error.js";
import { NotLoggedInError } from "./not-logged-in-error.js";

/**
 * Exit codes, documented in edgehubctl/README.md. Scripts branch on these, so they never change.
 */
export const EXIT = {
  OK: 0,
  /** Anything else: an internal error on the hub, a declined prompt, an unknown failure. */
  FAILURE: 1,
  /** Bad command line or input rejected as invalid (local, or the hub's invalid_argument). */
  USAGE: 2,
  NOT_FOUND: 3,
  /** Not logged in, token expired (unauthenticated) or not allowed (permission_denied). */
  PERMISSION: 4,
  /** The resource's state refuses it: already_exists, aborted (stale etag), failed_precondition. */
  CONFLICT: 5,
  /** The hub cannot be reached or is overloaded: unavailable, deadline_exceeded. */
  UNAVAILABLE: 6,
  /** A quota or limit: resource_exhausted. */
  QUOTA: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_CODE: Partial<Record<Code, ExitCode>> = {
  [Code.InvalidArgument]: EXIT.USAGE,
  [Code.OutOfRange]: EXIT.USAGE,
  [Code.NotFound]: EXIT.NOT_FOUND,
  [Code.PermissionDenied]: EXIT.PERMISSION,
  [Code.Unauthenticated]: EXIT.PERMISSION,
  [Code.AlreadyExists]: EXIT.CONFLICT,
  [Code.Aborted]: EXIT.CONFLICT,
  [Code.FailedPrecondition]: EXIT.CONFLICT,
  [Code.Unavailable]: EXIT.UNAVAILABLE,
  [Code.DeadlineExceeded]: EXIT.UNAVAILABLE,
  [Code.ResourceExhausted]: EXIT.QUOTA,
};

/** The exit code an error ends the program with. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof NotLoggedInError) return EXIT.PERMISSION;
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (err instanceof ConnectError) return BY_CODE[err.code] ?? EXIT.FAILURE;
  return EXIT.FAILURE;
}
