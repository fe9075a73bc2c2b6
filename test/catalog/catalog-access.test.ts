import { expect } from "chai";
import type { Principal } from "../../hub/api/principal.js";
import {
  canManageCatalogItem,
  canSeeCatalogItem,
  canUseCatalogItem,
  canUseTemplate,
  tenantForNewItem,
  type CatalogItemAccess,
} from "../../hub/catalog/catalog-access.js";

const T1 = "11111111-1111-1111-1111-111111111111";
const T2 = "22222222-2222-2222-2222-222222222222";
const owner: Principal = { userId: "owner", username: "owner", role: "user", tenantId: T1 };
const peer: Principal = { userId: "peer", username: "peer", role: "user", tenantId: T1 };
const tenantAdmin: Principal = { userId: "ta", username: "ta", role: "tenant_admin", tenantId: T1 };
const otherTenantUser: Principal = { userId: "x", username: "x", role: "user", tenantId: T2 };
const otherTenantAdmin: Principal = { userId: "y", username: "y", role: "tenant_admin", tenantId: T2 };
const admin: Principal = { userId: "a", username: "admin", role: "admin", tenantId: null };

const item = (visibility: CatalogItemAccess["visibility"], tenantId: string | null = T1): CatalogItemAccess => ({
  ownerId: "owner",
  tenantId,
  visibility,
  status: "active",
});

describe("catalog access rules (pure, 000 §6.2.1)", () => {
  it("private: only the owner (and admins, and the tenant's tenant_admin) see it", () => {
    expect(canSeeCatalogItem(owner, item("private"), false)).to.equal(true);
    expect(canSeeCatalogItem(peer, item("private"), true)).to.equal(false);
    expect(canSeeCatalogItem(tenantAdmin, item("private"), false)).to.equal(true);
    expect(canSeeCatalogItem(admin, item("private"), false)).to.equal(true);
  });

  it("group_specific: members of a group the owner is in", () => {
    expect(canSeeCatalogItem(peer, item("group_specific"), true)).to.equal(true);
    expect(canSeeCatalogItem(peer, item("group_specific"), false)).to.equal(false);
  });

  it("tenant items are invisible outside the tenant, even when public", () => {
    expect(canSeeCatalogItem(otherTenantUser, item("public"), false)).to.equal(false);
    expect(canSeeCatalogItem(otherTenantAdmin, item("public"), false)).to.equal(false);
    expect(canSeeCatalogItem(otherTenantUser, item("public", null), false)).to.equal(true);
    expect(canSeeCatalogItem(otherTenantAdmin, item("private", null), false)).to.equal(false);
  });

  it("use needs status active on top of visibility", () => {
    expect(canUseCatalogItem(peer, item("public"), false)).to.equal(true);
    expect(canUseCatalogItem(peer, { ...item("public"), status: "deprecated" }, false)).to.equal(false);
    expect(canUseCatalogItem(admin, { ...item("public"), status: "archived" }, false)).to.equal(false);
  });

  it("users use only listed templates; managers also unlisted ones", () => {
    expect(canUseTemplate(peer, { ...item("public"), listed: false }, false)).to.equal(false);
    expect(canUseTemplate(peer, { ...item("public"), listed: true }, false)).to.equal(true);
    expect(canUseTemplate(tenantAdmin, { ...item("public"), listed: false }, false)).to.equal(true);
  });

  it("admin manages everything, tenant_admin only its tenant's items, users nothing", () => {
    expect(canManageCatalogItem(admin, { tenantId: null })).to.equal(true);
    expect(canManageCatalogItem(tenantAdmin, { tenantId: T1 })).to.equal(true);
    expect(canManageCatalogItem(tenantAdmin, { tenantId: null })).to.equal(false);
    expect(canManageCatalogItem(otherTenantAdmin, { tenantId: T1 })).to.equal(false);
    expect(canManageCatalogItem(owner, { tenantId: T1 })).to.equal(false);
  });

  it("a tenant_admin creates only in its own tenant; users create nothing", () => {
    expect(tenantForNewItem(tenantAdmin, null)).to.deep.equal({ tenantId: T1 });
    expect(tenantForNewItem(tenantAdmin, T2)).to.equal(undefined);
    expect(tenantForNewItem(admin, null)).to.deep.equal({ tenantId: null });
    expect(tenantForNewItem(owner, T1)).to.equal(undefined);
  });
});
