import { InvalidArgumentError } from "../domain/errors.js";
import { QUOTA_DIMENSION } from "./quota-enums.js";

/** The seven quota dimensions of 000 §10.1–10.2, in the order they are reported. */
export const DIMENSIONS = QUOTA_DIMENSION.dbValues;
export type Dimension = (typeof QUOTA_DIMENSION.dbValues)[number];

/** Dimensions counted in whole units; the others may be fractional (GB, Gbps). */
const INTEGER_DIMENSIONS: ReadonlySet<Dimension> = new Set(["instances", "cpu_cores", "ip_addresses"]);

/** An amount per dimension (what an object occupies, or a holder uses). */
export type Resources = Record<Dimension, number>;
/** Limits per dimension; a missing dimension has no limit. */
export type QuotaLimits = Partial<Record<Dimension, number>>;

export function zeroResources(): Resources {
  return {
    instances: 0,
    cpu_cores: 0,
    memory_gb: 0,
    storage_gb: 0,
    private_data_disk_gb: 0,
    ip_addresses: 0,
    bandwidth_gbps: 0,
  };
}

/** Decimal columns keep three places; rounding there avoids 0.1 + 0.2 > 0.3 refusals. */
export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export function addResources(a: Resources, b: Resources): Resources {
  const out = zeroResources();
  for (const d of DIMENSIONS) out[d] = round3(a[d] + b[d]);
  return out;
}

export function subtractResources(a: Resources, b: Resources): Resources {
  const out = zeroResources();
  for (const d of DIMENSIONS) out[d] = round3(a[d] - b[d]);
  return out;
}

/** Fills missing dimensions with 0 and checks each amount is a finite, non-negative number. */
export function normalizeResources(input: Partial<Record<Dimension, number>>, field = "resources"): Resources {
  const out = zeroResources();
  for (const d of DIMENSIONS) {
    const v = input[d];
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v < 0)
      throw new InvalidArgumentError(`${field}.${d}`, `must be a non-negative number, got ${v}`);
    if (INTEGER_DIMENSIONS.has(d) && !Number.isInteger(v))
      throw new InvalidArgumentError(`${field}.${d}`, `must be a whole number, got ${v}`);
    out[d] = v;
  }
  return out;
}

/** Checks limits as given by a caller; `field` prefixes the dimension in the error (e.g. `limits.max_cpu_cores`). */
export function validateLimits(limits: QuotaLimits, field: string): QuotaLimits {
  const out: QuotaLimits = {};
  for (const d of DIMENSIONS) {
    const v = limits[d];
    if (v === undefined) continue;
    const name = `${field}.max_${d}`;
    if (!Number.isFinite(v)) throw new InvalidArgumentError(name, `must be a number, got ${v}`);
    if (v < 0) throw new InvalidArgumentError(name, `must not be negative, got ${v}`);
    if (INTEGER_DIMENSIONS.has(d) && !Number.isInteger(v))
      throw new InvalidArgumentError(name, `must be a whole number, got ${v}`);
    out[d] = v;
  }
  return out;
}

/** The stored `quota_config` JSON uses the spec's keys (`max_cpu_cores`, …). */
export function limitsFromConfig(config: unknown): QuotaLimits {
  const raw = (typeof config === "string" ? JSON.parse(config) : config) as Record<string, unknown> | null;
  const out: QuotaLimits = {};
  if (!raw) return out;
  for (const d of DIMENSIONS) {
    const v = raw[`max_${d}`];
    if (typeof v === "number") out[d] = v;
  }
  return out;
}

export function configFromLimits(limits: QuotaLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of DIMENSIONS) if (limits[d] !== undefined) out[`max_${d}`] = limits[d]!;
  return out;
}
