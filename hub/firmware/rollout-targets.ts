import { createHash } from "node:crypto";

/** Where a box falls in the fleet's stable order: the first 8 bytes of sha256(box id), as hex. */
export function rolloutRank(boxId: string): string {
  return createHash("sha256").update(boxId).digest("hex").slice(0, 16);
}

/**
 * The first `percentage` % of `boxIds` (at least one when there is any) in the stable order of
 * rolloutRank. The order depends only on the ids, so a larger percentage of the same fleet is a
 * superset of a smaller one: 10 % then 100 % extends the canary instead of drawing new boxes.
 */
export function pickPercentage(boxIds: readonly string[], percentage: number): string[] {
  if (boxIds.length === 0) return [];
  const ranked = [...boxIds].sort((a, b) => {
    const ra = rolloutRank(a);
    const rb = rolloutRank(b);
    return ra < rb ? -1 : ra > rb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
  const count = Math.max(1, Math.ceil((ranked.length * percentage) / 100));
  return ranked.slice(0, count);
}

/**
 * A rollout tag against a box's tags (a JSON object, spec 000 §1.6): `key=value` matches that
 * value, a bare `key` matches any box that has the key.
 */
export function parseRolloutTag(tag: string): { key: string; value: string | undefined } {
  const at = tag.indexOf("=");
  return at < 0 ? { key: tag, value: undefined } : { key: tag.slice(0, at), value: tag.slice(at + 1) };
}
