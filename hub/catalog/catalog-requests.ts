import { parsePageRequest, type PageRequest } from "../api/page-token.js";
import type { Principal } from "../api/principal.js";
import { isUuid, optionalId } from "../api/resource-id.js";
import { scopeTenantFilter } from "../api/tenant-scope.js";
import { InvalidArgumentError } from "../domain/errors.js";

// Request helpers the catalog's two services share (pages keyed by what each list sorts on).

function forged(): never {
  throw new InvalidArgumentError("page_token", "is not a token returned by this list");
}

/** A list in creation order: the key is the last id (UUIDv7). */
export function idKeyedPage(pageSize: number, pageToken: string): PageRequest {
  const page = parsePageRequest(pageSize, pageToken, 1);
  if (page.after && !isUuid(page.after[0]!)) forged();
  return page;
}

/** Image versions, newest number first: the key is the last version's [major, minor, patch]. */
export function versionKeyedPage(pageSize: number, pageToken: string): PageRequest {
  const page = parsePageRequest(pageSize, pageToken, 3);
  if (page.after && !page.after.every((part) => /^(0|[1-9]\d{0,9})$/.test(part))) forged();
  return page;
}

/** Tags, by name: the key is the last tag name. */
export function nameKeyedPage(pageSize: number, pageToken: string): PageRequest {
  return parsePageRequest(pageSize, pageToken, 1);
}

/**
 * A list's tenant_id filter: empty means no filter (platform items included); a malformed id is
 * invalid_argument; another tenant's id is not_found for tenant-scoped callers.
 */
export function tenantFilter(p: Principal, requested: string): string | undefined {
  const id = optionalId("tenant_id", requested);
  return id === null ? undefined : (scopeTenantFilter(p, id) ?? undefined);
}
