import { DIMENSIONS, round3, type Dimension, type QuotaLimits, type Resources } from "./quota-dimensions.js";
import type { QUOTA_USAGE_LEVEL } from "./quota-enums.js";

/** Alert thresholds of 000 §10.5: 80 % notice, 90 % warning, 95 % critical. */
export type UsageLevel = (typeof QUOTA_USAGE_LEVEL.dbValues)[number];

export interface DimensionUsage {
  dimension: Dimension;
  used: number;
  limit: number | null;
  percentage: number;
  level: UsageLevel;
}

export function levelOf(percentage: number): UsageLevel {
  if (percentage >= 95) return "critical";
  if (percentage >= 90) return "warning";
  if (percentage >= 80) return "notice";
  return "ok";
}

export function usageReport(used: Resources, limits: QuotaLimits): DimensionUsage[] {
  return DIMENSIONS.map((d) => {
    const limit = limits[d] ?? null;
    // A zero limit with use is fully (over) used; with none it is empty.
    const percentage = limit === null ? 0 : limit === 0 ? (used[d] > 0 ? 100 : 0) : round3((used[d] / limit) * 100);
    return { dimension: d, used: used[d], limit, percentage, level: limit === null ? "ok" : levelOf(percentage) };
  });
}
