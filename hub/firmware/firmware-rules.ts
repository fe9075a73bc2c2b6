import { InvalidArgumentError } from "../domain/errors.js";

/**
 * A firmware version string: semver 2.0 without build metadata (1.4.2, 2.0.0-rc.1), at most 64
 * characters. It names one file for good and travels in URLs and box reports, so it stays plain.
 */
const FIRMWARE_VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
/** A box model as a device reports it (letters, digits, . _ -). */
const MODEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const DEFAULT_HEALTH_DEADLINE_MS = 60_000;
export const MIN_HEALTH_DEADLINE_MS = 1_000;
export const MAX_HEALTH_DEADLINE_MS = 3_600_000;

export function checkFirmwareVersion(field: string, value: string): string {
  if (value.length > 64 || !FIRMWARE_VERSION.test(value))
    throw new InvalidArgumentError(field, `must be a version like 1.4.2 or 2.0.0-rc.1 (at most 64 characters)`);
  return value;
}

export function checkModels(field: string, models: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const m of models) {
    if (!MODEL.test(m))
      throw new InvalidArgumentError(field, `model names use letters, digits, ".", "_" and "-" (at most 64)`);
    seen.add(m);
  }
  return [...seen].sort();
}

export function healthDeadlineMs(field: string, value: number): number {
  if (value === 0) return DEFAULT_HEALTH_DEADLINE_MS;
  if (value < MIN_HEALTH_DEADLINE_MS || value > MAX_HEALTH_DEADLINE_MS)
    throw new InvalidArgumentError(
      field,
      `must be between ${MIN_HEALTH_DEADLINE_MS} and ${MAX_HEALTH_DEADLINE_MS} ms (0 means ${DEFAULT_HEALTH_DEADLINE_MS})`,
    );
  return value;
}
