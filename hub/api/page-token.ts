import { InvalidArgumentError } from "../domain/errors.js";

/** Every List of the admin API: `page_size` 0 means 50, above 1 000 is clamped to 1 000 (AIP-158). */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** A parsed page request: how many rows, and the sort key of the last row of the previous page. */
export interface PageRequest {
  readonly pageSize: number;
  /** undefined on the first page. */
  readonly after: readonly string[] | undefined;
}

export interface Page<T> {
  items: T[];
  /** Empty on the last page. */
  nextPageToken: string;
}

/**
 * The one page-token format: an opaque base64url keyset cursor holding the sort key of the last
 * row returned (e.g. `[createdAt, id]`), so pages stay stable while rows come and go, unlike
 * offsets. `keyWidth` is how many values the list's sort key has; a token of another shape is
 * refused with `invalid_argument` on `page_token`.
 */
export function parsePageRequest(pageSize: number, pageToken: string, keyWidth = 1): PageRequest {
  if (!Number.isInteger(pageSize) || pageSize < 0)
    throw new InvalidArgumentError("page_size", `must be a non-negative integer, got ${pageSize}`);
  const size = pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE);
  return { pageSize: size, after: decodePageToken(pageToken, keyWidth) };
}

export function encodePageToken(key: readonly string[]): string {
  return Buffer.from(JSON.stringify({ k: key })).toString("base64url");
}

function decodePageToken(token: string, width: number): string[] | undefined {
  if (token === "") return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { k?: unknown };
    if (Array.isArray(parsed.k) && parsed.k.length === width && parsed.k.every((v) => typeof v === "string"))
      return parsed.k as string[];
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError("page_token", "is not a token returned by this list");
}

/**
 * Splits rows fetched with `limit(page.pageSize + 1)`: the extra row only says a next page exists;
 * the token is the key of the last row kept.
 */
export function pageOf<T>(rows: T[], page: PageRequest, keyOf: (row: T) => readonly string[]): Page<T> {
  if (rows.length <= page.pageSize) return { items: rows, nextPageToken: "" };
  const items = rows.slice(0, page.pageSize);
  return { items, nextPageToken: encodePageToken(keyOf(items[items.length - 1]!)) };
}
