import * as grpc from "@grpc/grpc-js";
import { DomainError } from "../domain/errors.js";

const CODES: Record<DomainError["code"], grpc.status> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  already_exists: grpc.status.ALREADY_EXISTS,
  permission_denied: grpc.status.PERMISSION_DENIED,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  aborted: grpc.status.ABORTED,
};

/** Domain errors become gRPC statuses at the agent endpoint, as they become Connect codes on the admin API. */
export function grpcStatusOf(err: unknown): { code: grpc.status; details: string } | undefined {
  if (err instanceof DomainError) return { code: CODES[err.code], details: err.message };
  return undefined;
}

export function grpcCode(code: DomainError["code"]): grpc.status {
  return CODES[code];
}
