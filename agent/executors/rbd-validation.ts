import type { RbdImageRef, RbdSnapshotRef } from "../../gen/edgehub/common/v1/rbd_pb.js";

// RBD names: no "/" or "@" (they separate pool, image and snapshot in every Ceph tool), no NUL,
// not empty; librbd's own limit on image names is far above what the hub sends ("disk-<uuid>").
const NAME = /^[^/@\s\0]{1,250}$/;

export class InvalidRbdCommandError extends Error {
  override readonly name = "InvalidRbdCommandError";
}

function name(kind: string, field: string, value: string): string {
  if (!NAME.test(value))
    throw new InvalidRbdCommandError(
      `Invalid ${kind}: ${field} ${value ? `"${value}" is not an RBD name (no "/", "@", blanks)` : "is required"}`,
    );
  return value;
}

export function poolName(kind: string, field: string, value: string): string {
  return name(kind, field, value);
}

export function imageRef(kind: string, field: string, ref: RbdImageRef | undefined): { pool: string; image: string } {
  if (!ref) throw new InvalidRbdCommandError(`Invalid ${kind}: ${field} is required`);
  return { pool: name(kind, `${field}.pool`, ref.pool), image: name(kind, `${field}.image`, ref.image) };
}

export function snapshotRef(
  kind: string,
  field: string,
  ref: RbdSnapshotRef | undefined,
): { pool: string; image: string; snapshot: string } {
  if (!ref) throw new InvalidRbdCommandError(`Invalid ${kind}: ${field} is required`);
  return {
    pool: name(kind, `${field}.pool`, ref.pool),
    image: name(kind, `${field}.image`, ref.image),
    snapshot: name(kind, `${field}.snapshot`, ref.snapshot),
  };
}

export function positiveSize(kind: string, size: bigint): bigint {
  if (size <= 0n) throw new InvalidRbdCommandError(`Invalid ${kind}: size_bytes must be positive`);
  return size;
}
