import { expect } from "chai";
import type { Principal } from "../../hub/api/principal.js";
import {
  assertOwnerVisible,
  assertTenantVisible,
  scopeTenantFilter,
  tenantFilterFor,
} from "../../hub/api/tenant-scope.js";
import { NotFoundError } from "../../hub/domain/errors.js";

const A = "0190a000-0000-7000-8000-00000000000a";
const B = "0190a000-0000-7000-8000-00000000000b";
const p = (role: Principal["role"], tenantId: string | null, userId = "u1"): Principal => ({
  userId,
  username: userId,
  role,
  tenantId,
});

describe("tenant scoping helpers", () => {
  it("lets admin and operator see every tenant", () => {
    for (const who of [p("admin", null), p("operator", null)]) {
      expect(() => assertTenantVisible(who, B)).to.not.throw();
      expect(tenantFilterFor(who)).to.equal(null);
      expect(scopeTenantFilter(who, "")).to.equal(null);
      expect(scopeTenantFilter(who, B)).to.equal(B);
    }
  });

  it("answers not_found, naming the object, for another tenant's objects", () => {
    for (const who of [p("tenant_admin", A), p("user", A)]) {
      expect(() => assertTenantVisible(who, A)).to.not.throw();
      expect(() => assertTenantVisible(who, B, "disk", "d9")).to.throw(NotFoundError, "Cannot find disk d9");
      expect(() => assertTenantVisible(who, null, "user", "sys")).to.throw(NotFoundError);
      expect(tenantFilterFor(who)).to.equal(A);
      expect(scopeTenantFilter(who, "")).to.equal(A);
      expect(() => scopeTenantFilter(who, B)).to.throw(NotFoundError);
    }
  });

  it("confines a user to what it owns; a tenant_admin sees its whole tenant", () => {
    expect(() =>
      assertOwnerVisible(p("user", A, "me"), { tenantId: A, userId: "me" }, "instance", "i1"),
    ).to.not.throw();
    expect(() => assertOwnerVisible(p("user", A, "me"), { tenantId: A, userId: "other" }, "instance", "i1")).to.throw(
      NotFoundError,
    );
    expect(() =>
      assertOwnerVisible(p("tenant_admin", A, "ta"), { tenantId: A, userId: "other" }, "instance", "i1"),
    ).to.not.throw();
    expect(() =>
      assertOwnerVisible(p("tenant_admin", A, "ta"), { tenantId: B, userId: "other" }, "instance", "i1"),
    ).to.throw(NotFoundError);
  });
});
