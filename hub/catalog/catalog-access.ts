import type { Principal } from "../api/principal.js";
import type { CatalogStatus, Visibility } from "./catalog-enums.js";

/**
 * Who may see, use and manage images and templates (000 §6.2.1 "模板访问权限验证", applied to
 * images too). hub/authz/ did not exist when this was written, so the rules live here as pure
 * functions; catalog-visibility-query.ts is the same rule as SQL for lists, and
 * test/catalog/catalog-access.test.ts checks that both agree.
 *
 *   admin, operator   see everything; only admin manages everything
 *   tenant_admin      sees and manages every item of its tenant; outside it, like a user
 *   user              only platform items (tenant null) or its own tenant's, and then:
 *                     public → yes; private → only the owner; group_specific → the owner and
 *                     members of a live group the owner belongs to (direct membership)
 *
 * "Use" (creating an instance) additionally needs status active. Templates also carry `listed`
 * (seed 002 上架/下架): an unlisted template is not offered to users — lists hide it from them and
 * they cannot create instances from it — while admins and tenant_admins still can.
 */
export interface CatalogItemAccess {
  ownerId: string;
  tenantId: string | null;
  visibility: Visibility;
  status: CatalogStatus;
}

/** `sharesGroupWithOwner`: whether the principal and the owner are members of one live user group. */
export function canSeeCatalogItem(p: Principal, item: CatalogItemAccess, sharesGroupWithOwner: boolean): boolean {
  if (p.role === "admin" || p.role === "operator") return true;
  if (item.tenantId !== null && item.tenantId !== p.tenantId) return false;
  if (p.role === "tenant_admin" && item.tenantId !== null) return true;
  if (item.ownerId === p.userId) return true;
  switch (item.visibility) {
    case "public":
      return true;
    case "private":
      return false;
    case "group_specific":
      return sharesGroupWithOwner;
  }
}

/** Whether the principal may create instances from the item: visible and active. */
export function canUseCatalogItem(p: Principal, item: CatalogItemAccess, sharesGroupWithOwner: boolean): boolean {
  return item.status === "active" && canSeeCatalogItem(p, item, sharesGroupWithOwner);
}

/** Whether the principal may change the item: admin anything, tenant_admin its tenant's items. */
export function canManageCatalogItem(p: Principal, item: Pick<CatalogItemAccess, "tenantId">): boolean {
  if (p.role === "admin") return true;
  return p.role === "tenant_admin" && item.tenantId !== null && item.tenantId === p.tenantId;
}

/**
 * The tenant a new item belongs to: a tenant_admin's own tenant (it cannot name another), or
 * what an admin chose (null = a platform item). Returns undefined when the principal may not create.
 */
export function tenantForNewItem(
  p: Principal,
  requestedTenantId: string | null,
): { tenantId: string | null } | undefined {
  if (p.role === "admin") return { tenantId: requestedTenantId };
  if (
    p.role === "tenant_admin" &&
    p.tenantId !== null &&
    (requestedTenantId === null || requestedTenantId === p.tenantId)
  )
    return { tenantId: p.tenantId };
  return undefined;
}

/** Template use: canUseCatalogItem, and a `user` only from listed templates (seed 002). */
export function canUseTemplate(
  p: Principal,
  template: CatalogItemAccess & { listed: boolean },
  sharesGroupWithOwner: boolean,
): boolean {
  return canUseCatalogItem(p, template, sharesGroupWithOwner) && (template.listed || p.role !== "user");
}
