/**
 * Typed domain errors. Rules and stores throw these; hub/api/connect-errors.ts maps them to
 * Connect codes in one place. Never branch on message text.
 */
export abstract class DomainError extends Error {
  abstract readonly code:
    | "invalid_argument"
    | "not_found"
    | "already_exists"
    | "permission_denied"
    | "failed_precondition"
    | "resource_exhausted"
    | "unauthenticated"
    | "aborted";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A request field is malformed or out of range; `field` names it (dotted path for nested fields). */
export class InvalidArgumentError extends DomainError {
  override readonly name = "InvalidArgumentError";
  readonly code = "invalid_argument" as const;
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`Invalid ${field}: ${detail}`);
  }
}

export class NotFoundError extends DomainError {
  override readonly name = "NotFoundError";
  readonly code = "not_found" as const;
  constructor(
    readonly resourceType: string,
    readonly resourceId: string,
  ) {
    super(`Cannot find ${resourceType} ${resourceId}`);
  }
}

export class AlreadyExistsError extends DomainError {
  override readonly name = "AlreadyExistsError";
  readonly code = "already_exists" as const;
  constructor(
    readonly resourceType: string,
    detail: string,
  ) {
    super(`Cannot create ${resourceType}: ${detail}`);
  }
}

export class PermissionDeniedError extends DomainError {
  override readonly name = "PermissionDeniedError";
  readonly code = "permission_denied" as const;
}

/**
 * Why a request cannot be served, for programs: a stable UPPER_SNAKE `reason` (e.g.
 * `VERSION_IN_USE`) and string context; sent as google.rpc.ErrorInfo. Reasons are part of the API:
 * never rename one.
 */
export interface ErrorReason {
  readonly reason: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The resource is not in a state that allows the request (archived, in use, revoked, …). */
export class FailedPreconditionError extends DomainError {
  override readonly name: string = "FailedPreconditionError";
  readonly code = "failed_precondition" as const;
  readonly reason: string;
  readonly metadata: Readonly<Record<string, string>>;
  constructor(message: string, why: ErrorReason, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = why.reason;
    this.metadata = why.metadata ?? {};
  }
}

export class UnauthenticatedError extends DomainError {
  override readonly name = "UnauthenticatedError";
  readonly code = "unauthenticated" as const;
}

/** A concurrent change won (stale etag, a replaced session); the caller may read again and retry. */
export class ConflictError extends DomainError {
  override readonly name = "ConflictError";
  readonly code = "aborted" as const;
  readonly retryable = true;
  readonly reason: string;
  readonly metadata: Readonly<Record<string, string>>;
  constructor(message: string, why: ErrorReason, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = why.reason;
    this.metadata = why.metadata ?? {};
  }
}

/** One quota dimension, at one holder (`tenant`, `group`, `user`, `instance_set` and its id), that a request would exceed. */
export interface ExceededDimension {
  dimension: string;
  used: number;
  requested: number;
  limit: number;
  holderType: string;
  holderId: string;
}

/** Quota or a finite pool ran out; `exceeded` lists quota shortfalls (sent as QuotaExceeded). */
export class ResourceExhaustedError extends DomainError {
  override readonly name = "ResourceExhaustedError";
  readonly code = "resource_exhausted" as const;
  readonly reason: string;
  readonly metadata: Readonly<Record<string, string>> = {};
  constructor(message: string, why: ErrorReason & { exceeded?: readonly ExceededDimension[] }) {
    super(message);
    this.reason = why.reason;
    this.metadata = why.metadata ?? {};
    this.exceeded = why.exceeded ?? [];
  }
  readonly exceeded: readonly ExceededDimension[];
}
