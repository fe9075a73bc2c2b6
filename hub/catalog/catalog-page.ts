import { InvalidArgumentError } from "../domain/errors.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Keyset pagination over UUIDv7 ids (creation order): the token is the last id of the previous page. */
export interface PageRequest {
  pageSize: number;
  afterId: string | undefined;
}

export function parsePage(pageSize: number, pageToken: string): PageRequest {
  if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError("page_size", `${pageSize} must be between 0 and ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})`);
  }
  if (pageToken !== "" && !UUID.test(pageToken)) throw new InvalidArgumentError("page_token", "is not a token from a previous page");
  return { pageSize: pageSize || DEFAULT_PAGE_SIZE, afterId: pageToken || undefined };
}

/** Splits rows fetched with limit pageSize + 1 into the page and the next token ("" on the last page). */
export function pageOf<T extends { id: string }>(rows: T[], page: PageRequest): { items: T[]; nextPageToken: string } {
  const items = rows.slice(0, page.pageSize);
  return { items, nextPageToken: rows.length > page.pageSize ? items[items.length - 1]!.id : "" };
}

/** Whether `value` is a UUID; ids that are not are answered not_found rather than a database error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
