import { InvalidArgumentError } from "../domain/errors.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** 0 means the default; above the maximum is clamped (AIP-158); negative is refused. */
export function pageSizeOf(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0) throw new InvalidArgumentError("page_size", `must be a non-negative integer, got ${requested}`);
  if (requested === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}

/**
 * Opaque keyset cursor: the sort key of the last row returned (e.g. its UUIDv7 id), so pages stay
 * stable while rows are added or removed, unlike offsets.
 */
export function encodePageToken(key: readonly string[]): string {
  return Buffer.from(JSON.stringify({ k: key })).toString("base64url");
}

export function decodePageToken(token: string, width: number): string[] | undefined {
  if (token === "") return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { k?: unknown };
    if (Array.isArray(parsed.k) && parsed.k.length === width && parsed.k.every((v) => typeof v === "string")) return parsed.k as string[];
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError("page_token", "is not a token returned by this list");
}

/** Fetch one row more than the page; its presence says whether there is a next page. */
export function pageOf<T>(rows: T[], size: number, keyOf: (row: T) => string[]): { items: T[]; nextPageToken: string } {
  if (rows.length <= size) return { items: rows, nextPageToken: "" };
  const items = rows.slice(0, size);
  return { items, nextPageToken: encodePageToken(keyOf(items[items.length - 1]!)) };
}
