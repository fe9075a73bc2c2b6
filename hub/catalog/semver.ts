import { InvalidArgumentError } from "../domain/errors.js";

/** A version number of 000 §6.4.1: `vMAJOR.MINOR.PATCH`, no leading zeros, no pre-release suffix. */
export interface Semver {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** The canonical text, e.g. `v1.2.3`. */
  readonly text: string;
}

const SEMVER = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
/** Parts stay inside a PostgreSQL integer column. */
const MAX_PART = 2_147_483_647;

/** Whether `text` has the shape of a version number (used to reserve such names for version tags). */
export function looksLikeSemver(text: string): boolean {
  return SEMVER.test(text);
}

/** Parses `text` or throws InvalidArgumentError naming `field` and saying what is wrong. */
export function parseSemver(field: string, text: string): Semver {
  const m = SEMVER.exec(text);
  if (!m) {
    let why = "must be vMAJOR.MINOR.PATCH, e.g. v1.2.3";
    if (text === "") why = "is required (vMAJOR.MINOR.PATCH, e.g. v1.2.3)";
    else if (!text.startsWith("v")) why = `"${text}" must start with "v" (vMAJOR.MINOR.PATCH, e.g. v1.2.3)`;
    else if (/^v\d+\.\d+\.\d+$/.test(text)) why = `"${text}" has a leading zero in a number`;
    else why = `"${text}" must be vMAJOR.MINOR.PATCH with three non-negative integers, e.g. v1.2.3`;
    throw new InvalidArgumentError(field, why);
  }
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major > MAX_PART || minor > MAX_PART || patch > MAX_PART)
    throw new InvalidArgumentError(field, `"${text}" has a number above ${MAX_PART}`);
  return { major, minor, patch, text };
}

export function compareSemver(a: Semver, b: Semver): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatSemver(major: number, minor: number, patch: number): string {
  return `v${major}.${minor}.${patch}`;
}

/** The next patch version, used when a template update does not name its version. */
export function bumpPatch(v: Semver): Semver {
  const patch = v.patch + 1;
  return { major: v.major, minor: v.minor, patch, text: formatSemver(v.major, v.minor, patch) };
}
