import { FailedPreconditionError } from "../domain/errors.js";
import type { ImageVersion } from "./image.js";
import { compareSemver, parseSemver } from "./semver.js";

/** 000 §6.4.3: a version may be archived only after being deprecated for this many months. */
export const ARCHIVE_AFTER_DEPRECATED_MONTHS = 6;

/** `date` plus `months` calendar months in UTC, clamped to the month's last day (Aug 31 + 6 → Feb 28/29). */
export function addUtcMonths(date: Date, months: number): Date {
  const d = new Date(date.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

/** The three archive conditions of 000 §6.4.3; throws FailedPreconditionError naming the first unmet one. */
export function assertArchivable(
  v: Pick<ImageVersion, "versionNumber" | "status" | "deprecatedAt">,
  instancesUsing: number,
  now: Date,
): void {
  const what = `Cannot archive image version ${v.versionNumber}`;
  if (v.status !== "deprecated") {
    throw new FailedPreconditionError(`${what}: it is ${v.status}; only a deprecated version can be archived`, {
      reason: "VERSION_NOT_DEPRECATED",
      metadata: { status: v.status },
    });
  }
  if (instancesUsing > 0) {
    throw new FailedPreconditionError(`${what}: ${instancesUsing} instance(s) still use it`, {
      reason: "VERSION_IN_USE",
      metadata: { instance_count: String(instancesUsing) },
    });
  }
  const eligible = addUtcMonths(v.deprecatedAt!, ARCHIVE_AFTER_DEPRECATED_MONTHS);
  if (now.getTime() < eligible.getTime()) {
    throw new FailedPreconditionError(
      `${what}: deprecated at ${v.deprecatedAt!.toISOString()}, it can be archived from ${eligible.toISOString()} (${ARCHIVE_AFTER_DEPRECATED_MONTHS} months later)`,
      { reason: "VERSION_DEPRECATED_TOO_RECENTLY", metadata: { archivable_from: eligible.toISOString() } },
    );
  }
}

/** Rollback (000 §6.4.3) moves `latest` back: the target must be active and older than the current latest. */
export function assertRollbackTarget(
  current: Pick<ImageVersion, "versionNumber"> | undefined,
  target: Pick<ImageVersion, "versionNumber" | "status">,
): void {
  const what = `Cannot roll back to image version ${target.versionNumber}`;
  if (!current)
    throw new FailedPreconditionError(`${what}: the image has no latest version to roll back from`, {
      reason: "NO_LATEST_VERSION",
    });
  if (target.status !== "active")
    throw new FailedPreconditionError(`${what}: it is ${target.status}`, {
      reason: "VERSION_NOT_ACTIVE",
      metadata: { status: target.status },
    });
  if (
    compareSemver(
      parseSemver("version_number", target.versionNumber),
      parseSemver("version_number", current.versionNumber),
    ) >= 0
  ) {
    throw new FailedPreconditionError(`${what}: it is not older than the current latest ${current.versionNumber}`, {
      reason: "ROLLBACK_TARGET_NOT_OLDER",
      metadata: { latest: current.versionNumber },
    });
  }
}
