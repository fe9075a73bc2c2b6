import { InvalidArgumentError } from "../domain/errors.js";
import type { DiskShareMode } from "./disk-enums.js";

/** The largest disk one request may ask for (64 TiB): RBD takes more, an edge site does not. */
export const MAX_DISK_SIZE_GB = 65_536;
/** A shared disk mounts read-only on at most this many instances. */
export const MAX_SHARED_ATTACHMENTS = 64;

// Names travel into logs, audit rows and the console: printable, no slashes or control characters.
const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u;

/** A disk or snapshot name: 1–64 characters, letters, digits, space, '.', '_', '-', starting with a letter or digit. */
export function validDiskName(field: string, value: string): string {
  const v = value.trim();
  if (v === "") throw new InvalidArgumentError(field, "must not be empty");
  if (v.length > 64) throw new InvalidArgumentError(field, `must be at most 64 characters, got ${v.length}`);
  if (!NAME.test(v))
    throw new InvalidArgumentError(
      field,
      "may contain only letters, digits, spaces, '.', '_' and '-' and must start with a letter or digit",
    );
  return v;
}

export function validDescription(field: string, value: string): string {
  const v = value.trim();
  if (v.length > 1024) throw new InvalidArgumentError(field, `must be at most 1024 characters, got ${v.length}`);
  return v;
}

/** A size in whole GB, 1 … MAX_DISK_SIZE_GB. */
export function validSizeGb(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError(field, `must be a whole number of GB, at least 1; got ${value}`);
  if (value > MAX_DISK_SIZE_GB)
    throw new InvalidArgumentError(field, `must be at most ${MAX_DISK_SIZE_GB} GB; got ${value}`);
  return value;
}

/** 000 §3.1: exclusive ⇒ exactly 1 attachment; shared ⇒ N ≥ 1 (0 asks for the default, 1). */
export function validMaxAttachments(field: string, mode: DiskShareMode, value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new InvalidArgumentError(field, `must be a non-negative whole number; got ${value}`);
  if (value === 0) return 1;
  if (mode === "exclusive" && value !== 1)
    throw new InvalidArgumentError(field, `must be 1 for an exclusive disk; got ${value}`);
  if (value > MAX_SHARED_ATTACHMENTS)
    throw new InvalidArgumentError(field, `must be at most ${MAX_SHARED_ATTACHMENTS}; got ${value}`);
  return value;
}
