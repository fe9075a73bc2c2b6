import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  ConflictError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  ResourceExhaustedError,
} from "../domain/errors.js";
import { classifyDatabaseError } from "./database-errors.js";
import { featureDetailsOf, type ErrorDetail } from "./error-details.js";

/** The ErrorInfo domain of every reason the hub sends. */
export const ERROR_DOMAIN = "edgehub.io";

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

/** The typed details of a domain error (AIP-193): field violations, reasons, shortfalls. */
function detailsOf(err: DomainError): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  if (err instanceof InvalidArgumentError) {
    details.push({
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: [{ field: err.field, description: err.message }] }),
    });
  }
  if (err instanceof FailedPreconditionError || err instanceof ConflictError || err instanceof ResourceExhaustedError) {
    details.push({
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: err.reason, domain: ERROR_DOMAIN, metadata: { ...err.metadata } }),
    });
  }
  // Quota shortfalls (ResourceExhaustedError.exceeded) become QuotaExceeded through the quota
  // feature's registerErrorDetail: their enums are the feature's.
  return [...details, ...featureDetailsOf(err)];
}

/** Translates anything a handler threw into a ConnectError; undefined means an internal error. */
export function toConnectError(err: unknown): ConnectError | undefined {
  if (err instanceof ConnectError) return err;
  if (err instanceof DomainError) return new ConnectError(err.message, CODES[err.code], undefined, detailsOf(err), err);
  const failure = classifyDatabaseError(err);
  if (failure) {
    const info = create(ErrorInfoSchema, { reason: failure.reason, domain: ERROR_DOMAIN });
    return new ConnectError(failure.message, failure.code, undefined, [{ desc: ErrorInfoSchema, value: info }], err);
  }
  return undefined;
}
