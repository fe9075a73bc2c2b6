import type { Principal } from "./principal.js";
import { NotFoundError, PermissionDeniedError } from "../domain/errors.js";

/**
 * Tenant scoping shared by every feature. tenant_admin and user live inside one tenant and must not
 * learn that other tenants exist: another tenant's ids answer `not_found`, never `permission_denied`.
 * admin and operator are system accounts and see every tenant (the method's role rule still applies).
 */
export function isTenantScoped(principal: Principal): boolean {
  return principal.role === "tenant_admin" || principal.role === "user";
}

/** The tenant a caller is confined to, or null when it may see all tenants. */
export function tenantFilterFor(principal: Principal): string | null {
  return isTenantScoped(principal) ? principal.tenantId : null;
}

/**
 * Throws NotFoundError(resourceType, resourceId) when the object of `tenantId` lies outside the
 * caller's tenant. Pass the object's own type and id, so the answer matches a missing object exactly.
 */
export function assertTenantVisible(
  principal: Principal,
  tenantId: string | null,
  resourceType = "tenant",
  resourceId = tenantId ?? "",
): void {
  if (!isTenantScoped(principal)) return;
  if (tenantId === null || tenantId !== principal.tenantId) throw new NotFoundError(resourceType, resourceId);
}

/**
 * For a tenant filter in a list request: scoped callers get their own tenant (an empty filter
 * means theirs; another tenant's id is `not_found`); others get the filter as given (null = all).
 */
export function scopeTenantFilter(principal: Principal, requested: string): string | null {
  const own = tenantFilterFor(principal);
  if (own === null) return requested === "" ? null : requested;
  if (requested !== "" && requested !== own) throw new NotFoundError("tenant", requested);
  return own;
}

/**
 * A `user` sees only what it owns; tenant_admin everything in its tenant; admin and operator all.
 * Objects of others answer `not_found` like objects of another tenant.
 */
export function assertOwnerVisible(
  principal: Principal,
  owner: { tenantId: string | null; userId: string | null },
  resourceType: string,
  resourceId: string,
): void {
  assertTenantVisible(principal, owner.tenantId, resourceType, resourceId);
  if (principal.role === "user" && owner.userId !== principal.userId) throw new NotFoundError(resourceType, resourceId);
}

/** Refuses a visible action the caller's role may not take (e.g. a tenant_admin changing its tenant's quota). */
export function denyUnless(allowed: boolean, message: string): void {
  if (!allowed) throw new PermissionDeniedError(message);
}
