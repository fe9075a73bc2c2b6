import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { QuotaExceededSchema } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { DomainError, ResourceExhaustedError } from "../domain/errors.js";

const CODES: Record<DomainError["code"], Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unauthenticated: Code.Unauthenticated,
  aborted: Code.Aborted,
};

/** PostgreSQL SQLSTATEs that a store forgot to translate, mapped to what they mean to a caller. */
const PG_CODES: Record<string, Code> = {
  "23505": Code.AlreadyExists, // unique_violation
  "23503": Code.FailedPrecondition, // foreign_key_violation
  "23514": Code.InvalidArgument, // check_violation
  "23502": Code.InvalidArgument, // not_null_violation
  "22P02": Code.InvalidArgument, // invalid_text_representation (e.g. a malformed uuid)
  "40001": Code.Aborted, // serialization_failure: retry
  "40P01": Code.Aborted, // deadlock_detected: retry
};

/** Translates anything a handler threw into a ConnectError; undefined means an internal error. */
export function toConnectError(err: unknown): ConnectError | undefined {
  if (err instanceof ConnectError) return err;
  if (err instanceof ResourceExhaustedError && err.exceeded.length > 0) {
    // Structured detail so clients can show used/requested/limit without parsing the message.
    const detail = { desc: QuotaExceededSchema, value: create(QuotaExceededSchema, { dimensions: err.exceeded.map((e) => ({ ...e })) }) };
    return new ConnectError(err.message, Code.ResourceExhausted, undefined, [detail], err);
  }
  if (err instanceof DomainError) return new ConnectError(err.message, CODES[err.code], undefined, undefined, err);
  const pgCode = (err as { code?: unknown } | null)?.code;
  if (typeof pgCode === "string" && PG_CODES[pgCode] !== undefined) {
    const e = err as { constraint?: string; detail?: string; message?: string };
    const what = e.constraint ? `constraint ${e.constraint}` : (e.detail ?? e.message ?? pgCode);
    return new ConnectError(`Request conflicts with stored data: ${what}`, PG_CODES[pgCode], undefined, undefined, err);
  }
  return undefined;
}
