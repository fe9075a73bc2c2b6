import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { TenantService, TenantStatus } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
import { buildWorld, codeOf, countRows, errorOf, PASSWORD, type World } from "./identity-fixtures.js";

describe("TenantService", function () {
  let t: TestHub;
  let w: World;
  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "ten");
  });
  after(async () => t?.stop());

  const admin = () => t.client(TenantService, w.adminToken);

  it("admin creates a tenant with a quota, a VLAN id from 100 up and an audit row in the same request", async () => {
    const res = await admin().createTenant({
      name: "ten-new",
      description: "d",
      quota: { maxCpuCores: 40, maxMemoryGb: 80 },
    });
    const tenant = res.tenant!;
    expect(tenant.vlanId).to.be.within(100, 4094);
    expect(tenant.quota?.maxCpuCores).to.equal(40);
    expect(tenant.creatorId).to.not.equal("");
    const row = await t.hub.db.knex("tenants").where("id", tenant.id).first();
    expect(row.quota_config).to.deep.equal({ max_cpu_cores: 40, max_memory_gb: 80 });
    const audit = await t.hub.db.knex("audit_log").where({ action: "tenant.create", target_id: tenant.id }).first();
    expect(audit.actor_username).to.equal("admin");
    expect(audit.request_id).to.not.equal("");
  });

  it("allocates distinct VLAN ids (never 1–99) and reuses one only after its tenant is deleted", async () => {
    const ids = await Promise.all(
      [1, 2, 3, 4].map(async (i) => (await admin().createTenant({ name: `ten-vlan-${i}` })).tenant!),
    );
    const vlans = ids.map((x) => x.vlanId);
    expect(new Set(vlans).size).to.equal(4);
    for (const v of vlans) expect(v).to.be.at.least(100);
    const all = await t.hub.db.knex("tenants").whereNull("deleted_at").pluck("vlan_id");
    expect(new Set(all).size).to.equal(all.length);
    const freed = ids[0]!;
    await admin().deleteTenant({ id: freed.id });
    const again = (await admin().createTenant({ name: "ten-vlan-reuse" })).tenant!;
    expect(again.vlanId).to.equal(freed.vlanId);
  });

  it("refuses bad input naming the field and writes nothing", async () => {
    const tenantsBefore = await countRows(t, "tenants");
    const auditBefore = await countRows(t, "audit_log");
    const empty = await errorOf(admin().createTenant({ name: "   " }));
    expect(empty.code).to.equal(Code.InvalidArgument);
    expect(empty.rawMessage).to.contain("name");
    const negative = await errorOf(admin().createTenant({ name: "ten-neg", quota: { maxMemoryGb: -1 } }));
    expect(negative.code).to.equal(Code.InvalidArgument);
    expect(negative.rawMessage).to.contain("quota.max_memory_gb");
    const dup = await errorOf(admin().createTenant({ name: w.a.tenantName.toUpperCase() }));
    expect(dup.code).to.equal(Code.AlreadyExists);
    // The status is not updatable: it changes through the verbs.
    const status = await errorOf(
      admin().updateTenant({
        tenant: { id: w.a.tenantId, status: TenantStatus.SUSPENDED },
        updateMask: { paths: ["status"] },
      }),
    );
    expect(status.code).to.equal(Code.InvalidArgument);
    expect(violatedFields(status)).to.deep.equal(["update_mask"]);
    expect(await codeOf(admin().getTenant({ id: "not-a-uuid" }))).to.equal(Code.InvalidArgument);
    expect(await countRows(t, "tenants")).to.equal(tenantsBefore);
    expect(await countRows(t, "audit_log")).to.equal(auditBefore);
  });

  it("admin updates the description and sets the tenant admin, which must be a tenant_admin of that tenant", async () => {
    const updated = (
      await admin().updateTenant({
        tenant: { id: w.a.tenantId, adminUserId: w.a.tenantAdminId, description: "faculty" },
        updateMask: { paths: ["admin_user_id", "description"] },
      })
    ).tenant!;
    expect(updated.adminUserId).to.equal(w.a.tenantAdminId);
    expect(updated.description).to.equal("faculty");
    const setAdmin = (tenantId: string, adminUserId: string) =>
      admin().updateTenant({ tenant: { id: tenantId, adminUserId }, updateMask: { paths: ["admin_user_id"] } });
    const wrongTenant = await errorOf(setAdmin(w.a.tenantId, w.b.tenantAdminId));
    expect(wrongTenant.code).to.equal(Code.InvalidArgument);
    expect(violatedFields(wrongTenant)).to.deep.equal(["tenant.admin_user_id"]);
    expect(await codeOf(setAdmin(w.a.tenantId, w.a.userId))).to.equal(Code.InvalidArgument);
    // Demoting the tenant admin clears the link, so admin_user_id never names a non-tenant_admin.
    const extra = (
      await t
        .client(UserService, w.adminToken)
        .createUser({ tenantId: w.b.tenantId, username: "ten-b-admin2", password: PASSWORD, role: Role.TENANT_ADMIN })
    ).user!;
    await setAdmin(w.b.tenantId, extra.id);
    await t
      .client(UserService, w.adminToken)
      .updateUser({ user: { id: extra.id, role: Role.USER }, updateMask: { paths: ["role"] } });
    expect((await t.hub.db.knex("tenants").where("id", w.b.tenantId).first()).admin_user_id).to.equal(null);
    const audit = await t.hub.db
      .knex("audit_log")
      .where({ action: "tenant.update", target_id: w.a.tenantId })
      .orderBy("at", "desc")
      .first();
    expect(audit.before.description).to.equal("");
    expect(audit.after.description).to.equal("faculty");
  });

  it("suspending a tenant ends its users' sessions and refuses their logins until it is active again", async () => {
    const x = (await admin().createTenant({ name: "ten-susp" })).tenant!;
    await t
      .client(UserService, w.adminToken)
      .createUser({ tenantId: x.id, username: "ten-susp-user", password: PASSWORD, role: Role.USER });
    const token = await t.login("ten-susp-user", PASSWORD, "ten-susp");
    expect((await admin().suspendTenant({ id: x.id })).tenant!.status).to.equal(TenantStatus.SUSPENDED);
    expect(await codeOf(t.client(AuthService, token).whoAmI({}))).to.equal(Code.Unauthenticated);
    expect(await codeOf(t.login("ten-susp-user", PASSWORD, "ten-susp"))).to.equal(Code.PermissionDenied);
    expect((await admin().activateTenant({ id: x.id })).tenant!.status).to.equal(TenantStatus.ACTIVE);
    const again = await t.login("ten-susp-user", PASSWORD, "ten-susp");
    expect(again).to.match(/^ehb_/);
    // Deactivating does the same; asking for the status it already has changes nothing and writes no audit row.
    expect((await admin().deactivateTenant({ id: x.id })).tenant!.status).to.equal(TenantStatus.INACTIVE);
    expect(await codeOf(t.client(AuthService, again).whoAmI({}))).to.equal(Code.Unauthenticated);
    const auditBefore = await countRows(t, "audit_log");
    expect((await admin().deactivateTenant({ id: x.id })).tenant!.status).to.equal(TenantStatus.INACTIVE);
    expect(await countRows(t, "audit_log")).to.equal(auditBefore);
    const actions = await t.hub.db.knex("audit_log").where("target_id", x.id).orderBy("id").pluck("action");
    expect(actions).to.deep.equal(["tenant.create", "tenant.suspend", "tenant.activate", "tenant.deactivate"]);
  });

  it("refuses deleting a tenant that still has users (TENANT_NOT_EMPTY)", async () => {
    const err = await errorOf(admin().deleteTenant({ id: w.b.tenantId }));
    expect(err.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(err)).to.deep.equal(["TENANT_NOT_EMPTY"]);
    expect((await t.hub.db.knex("tenants").where("id", w.b.tenantId).first()).deleted_at).to.equal(null);
  });

  it("soft-deletes: the row stays with deleted_at, and the tenant answers not_found", async () => {
    const x = (await admin().createTenant({ name: "ten-del" })).tenant!;
    await admin().deleteTenant({ id: x.id });
    expect((await t.hub.db.knex("tenants").where("id", x.id).first()).deleted_at).to.be.instanceOf(Date);
    expect(await codeOf(admin().getTenant({ id: x.id }))).to.equal(Code.NotFound);
    const list = await admin().listTenants({ pageSize: 500 });
    expect(list.tenants.map((x2) => x2.id)).to.not.include(x.id);
  });

  it("paginates in a stable order with page tokens", async () => {
    const seen: string[] = [];
    let token = "";
    do {
      const page = await admin().listTenants({ pageSize: 2, pageToken: token });
      expect(page.tenants.length).to.be.at.most(2);
      seen.push(...page.tenants.map((x) => x.id));
      token = page.nextPageToken;
    } while (token);
    const live = await t.hub.db.knex("tenants").whereNull("deleted_at").orderBy("id").pluck("id");
    expect(seen).to.deep.equal(live);
    expect(await codeOf(admin().listTenants({ pageToken: "garbage" }))).to.equal(Code.InvalidArgument);
    expect(await codeOf(admin().listTenants({ pageSize: -1 }))).to.equal(Code.InvalidArgument);
  });

  for (const role of ["tenantAdmin", "user"] as const) {
    it(`${role} reads its own tenant, gets not_found for another tenant, and lists only its own`, async () => {
      const token = role === "tenantAdmin" ? w.a.tenantAdminToken : w.a.userToken;
      const c = t.client(TenantService, token);
      expect((await c.getTenant({ id: w.a.tenantId })).tenant!.id).to.equal(w.a.tenantId);
      expect(await codeOf(c.getTenant({ id: w.b.tenantId }))).to.equal(Code.NotFound);
      const list = await c.listTenants({});
      expect(list.tenants.map((x) => x.id)).to.deep.equal([w.a.tenantId]);
    });

    it(`${role} cannot create, update or delete tenants, its own included`, async () => {
      const token = role === "tenantAdmin" ? w.a.tenantAdminToken : w.a.userToken;
      const c = t.client(TenantService, token);
      const before = await countRows(t, "tenants");
      expect(await codeOf(c.createTenant({ name: "ten-sneaky" }))).to.equal(Code.PermissionDenied);
      expect(
        await codeOf(
          c.updateTenant({ tenant: { id: w.a.tenantId, name: "renamed" }, updateMask: { paths: ["name"] } }),
        ),
      ).to.equal(Code.PermissionDenied);
      expect(await codeOf(c.suspendTenant({ id: w.a.tenantId }))).to.equal(Code.PermissionDenied);
      expect(await codeOf(c.deleteTenant({ id: w.a.tenantId }))).to.equal(Code.PermissionDenied);
      expect(await countRows(t, "tenants")).to.equal(before);
      expect((await t.hub.db.knex("tenants").where("id", w.a.tenantId).first()).name).to.equal(w.a.tenantName);
    });
  }

  it("operator manages no tenants and reads none", async () => {
    const c = t.client(TenantService, w.operatorToken);
    expect(await codeOf(c.listTenants({}))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.getTenant({ id: w.a.tenantId }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.createTenant({ name: "ten-op" }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.suspendTenant({ id: w.a.tenantId }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.activateTenant({ id: w.a.tenantId }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.deleteTenant({ id: w.a.tenantId }))).to.equal(Code.PermissionDenied);
  });

  it("refuses unauthenticated calls", async () => {
    expect(await codeOf(t.client(TenantService).listTenants({}))).to.equal(Code.Unauthenticated);
  });
});
