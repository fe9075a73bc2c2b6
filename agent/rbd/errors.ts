/** errno values librados/librbd return (negated) that the gateway names or branches on. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  EINVAL: 22,
  ENOSPC: 28,
  EROFS: 30,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOTEMPTY: 39,
  ENODATA: 61,
  EOPNOTSUPP: 95,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EDQUOT: 122,
} as const;

const NAMES = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [v, k]));
const TEXT: Record<number, string> = {
  [ERRNO.EPERM]: "not permitted (cephx caps)",
  [ERRNO.ENOENT]: "does not exist",
  [ERRNO.EACCES]: "access denied (cephx caps)",
  [ERRNO.EBUSY]: "is busy",
  [ERRNO.EEXIST]: "already exists",
  [ERRNO.EINVAL]: "invalid argument",
  [ERRNO.ENOSPC]: "no space left in the cluster",
  [ERRNO.ENOTEMPTY]: "has snapshots",
  [ERRNO.EOPNOTSUPP]: "not supported by the cluster",
  [ERRNO.EDQUOT]: "pool quota exceeded",
};

/** errnos that mean the cluster (mons or OSDs) did not answer, not that the request was wrong. */
const UNAVAILABLE = new Set<number>([
  ERRNO.ENOTCONN,
  ERRNO.ESHUTDOWN,
  ERRNO.ETIMEDOUT,
  ERRNO.ECONNREFUSED,
  ERRNO.EHOSTDOWN,
  ERRNO.EHOSTUNREACH,
]);

export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}

/**
 * A librados/librbd call failed: `errno` is positive (the library returns it negated), `target`
 * names what it was about ("pool/image", "pool/image@snap", "pool").
 */
export class RbdError extends Error {
  override readonly name = "RbdError";
  constructor(
    readonly operation: string,
    readonly errno: number,
    readonly target: string,
    detail?: string,
  ) {
    super(`${operation} ${target}: ${detail ?? TEXT[errno] ?? "failed"} (${errnoName(errno)})`);
  }
}

/** The cluster did not answer within the gateway's timeout; nothing was changed by this call. */
export class CephUnavailableError extends Error {
  override readonly name = "CephUnavailableError";
  constructor(
    readonly operation: string,
    readonly target: string,
    readonly errno: number,
    where: string,
  ) {
    super(`Ceph cluster unavailable (${where}): ${operation} ${target} got no answer (${errnoName(errno)})`);
  }
}

/** A refusal decided by the gateway itself (shrink, name reused with another size…), before any call. */
export class RbdRefusedError extends Error {
  override readonly name = "RbdRefusedError";
}

/** The cluster handle was closed; the call never reached librados (a closed handle would segfault). */
export class RbdClosedError extends Error {
  override readonly name = "RbdClosedError";
}

export function isUnavailableErrno(errno: number): boolean {
  return UNAVAILABLE.has(errno);
}

export function isRbdErrno(err: unknown, errno: number): err is RbdError {
  return err instanceof RbdError && err.errno === errno;
}
