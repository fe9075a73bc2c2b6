import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { UserService, UserStatus } from "../../gen/edgehub/admin/v1/user_pb.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
import { buildWorld, codeOf, countRows, errorOf, PASSWORD, type World } from "./identity-fixtures.js";

describe("UserService", function () {
  let t: TestHub;
  let w: World;
  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "usr");
  });
  after(async () => t?.stop());

  const users = (token: string) => t.client(UserService, token);

  describe("bad input", () => {
    it("refuses empty usernames, invalid emails, short passwords and unknown roles, writing nothing", async () => {
      const before = [await countRows(t, "users"), await countRows(t, "audit_log")];
      const base = {
        tenantId: w.a.tenantId,
        username: "usr-ok",
        email: "ok@example.org",
        password: PASSWORD,
        role: Role.USER,
      };
      const cases: [Partial<typeof base>, string][] = [
        [{ username: "" }, "username"],
        [{ username: "  " }, "username"],
        [{ email: "not-an-email" }, "email"],
        [{ email: "a@b" }, "email"],
        [{ password: "short" }, "password"],
        [{ role: Role.UNSPECIFIED }, "role"],
        [{ role: 99 as Role }, "role"],
        [{ tenantId: "" }, "tenant_id"],
      ];
      for (const [patch, field] of cases) {
        const err = await errorOf(users(w.adminToken).createUser({ ...base, ...patch }));
        expect(err.code, JSON.stringify(patch)).to.equal(Code.InvalidArgument);
        expect(violatedFields(err), JSON.stringify(patch)).to.deep.equal([field]);
      }
      expect([await countRows(t, "users"), await countRows(t, "audit_log")]).to.deep.equal(before);
    });

    it("refuses a duplicate username (case-insensitive) within a tenant and in any other tenant", async () => {
      const before = await countRows(t, "users");
      const dup = await errorOf(
        users(w.adminToken).createUser({
          tenantId: w.a.tenantId,
          username: "USR-A-USER",
          password: PASSWORD,
          role: Role.USER,
        }),
      );
      expect(dup.code).to.equal(Code.AlreadyExists);
      expect(dup.rawMessage).to.contain("username");
      expect(await countRows(t, "users")).to.equal(before);
      const other = await errorOf(
        users(w.adminToken).createUser({
          tenantId: w.b.tenantId,
          username: "usr-a-user",
          password: PASSWORD,
          role: Role.USER,
        }),
      );
      expect(other.code, "usernames are unique hub-wide").to.equal(Code.AlreadyExists);
      expect(await countRows(t, "users")).to.equal(before);
    });

    it("creates one of two concurrent requests for the same username; the other is already_exists", async () => {
      const make = () =>
        users(w.adminToken).createUser({
          tenantId: w.a.tenantId,
          username: "usr-race",
          password: PASSWORD,
          role: Role.USER,
        });
      const results = await Promise.allSettled([make(), make()]);
      expect(results.filter((r) => r.status === "fulfilled").length).to.equal(1);
      const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(await codeOf(Promise.reject(rejected.reason))).to.equal(Code.AlreadyExists);
      expect(
        await t.hub.db.knex("users").whereRaw("lower(username) = 'usr-race'").count({ n: "*" }).first(),
      ).to.deep.equal({ n: 1 });
    });

    it("refuses a tenant for system roles and a missing tenant for tenant roles", async () => {
      expect(
        await codeOf(
          users(w.adminToken).createUser({
            tenantId: w.a.tenantId,
            username: "usr-op2",
            password: PASSWORD,
            role: Role.OPERATOR,
          }),
        ),
      ).to.equal(Code.InvalidArgument);
      expect(
        await codeOf(users(w.adminToken).createUser({ username: "usr-u2", password: PASSWORD, role: Role.USER })),
      ).to.equal(Code.InvalidArgument);
    });
  });

  describe("admin", () => {
    it("creates, reads, lists, updates and deletes users of any tenant, each audited", async () => {
      const u = (
        await users(w.adminToken).createUser({
          tenantId: w.b.tenantId,
          username: "usr-admin-made",
          email: "m@example.org",
          password: PASSWORD,
          role: Role.USER,
        })
      ).user!;
      expect((await users(w.adminToken).getUser({ id: u.id })).user!.email).to.equal("m@example.org");
      const listed = await users(w.adminToken).listUsers({ tenantId: w.b.tenantId, pageSize: 500 });
      expect(listed.users.map((x) => x.id)).to.include(u.id);
      expect(listed.users.every((x) => x.tenantId === w.b.tenantId)).to.equal(true);
      const upd = (
        await users(w.adminToken).updateUser({
          user: { id: u.id, email: "n@example.org", role: Role.TENANT_ADMIN },
          updateMask: { paths: ["email", "role"] },
        })
      ).user!;
      expect([upd.role, upd.email]).to.deep.equal([Role.TENANT_ADMIN, "n@example.org"]);
      await users(w.adminToken).deleteUser({ id: u.id });
      const row = await t.hub.db.knex("users").where("id", u.id).first();
      expect(row.deleted_at).to.be.instanceOf(Date);
      expect(row.updated_by).to.not.equal(null);
      const actions = await t.hub.db.knex("audit_log").where("target_id", u.id).orderBy("id").pluck("action");
      expect(actions).to.deep.equal(["user.create", "user.update", "user.delete"]);
      expect(await codeOf(users(w.adminToken).getUser({ id: u.id }))).to.equal(Code.NotFound);
    });

    it("locking a user revokes its tokens at once and login is refused", async () => {
      const u = (
        await users(w.adminToken).createUser({
          tenantId: w.a.tenantId,
          username: "usr-tolock",
          password: PASSWORD,
          role: Role.USER,
        })
      ).user!;
      const token = await t.login("usr-tolock", PASSWORD, w.a.tenantName);
      expect((await users(w.adminToken).lockUser({ id: u.id })).user!.status).to.equal(UserStatus.LOCKED);
      const live = await t.hub.db
        .knex("auth_tokens")
        .where("user_id", u.id)
        .whereNull("revoked_at")
        .count({ n: "*" })
        .first();
      expect(Number(live!.n)).to.equal(0);
      expect(await codeOf(t.client(AuthService, token).whoAmI({}))).to.equal(Code.Unauthenticated);
      expect(await codeOf(t.login("usr-tolock", PASSWORD, w.a.tenantName))).to.equal(Code.PermissionDenied);
    });

    it("cannot lock or delete its own account", async () => {
      const me = (await t.client(AuthService, w.adminToken).whoAmI({})).principal!.userId;
      for (const call of [
        users(w.adminToken).lockUser({ id: me }),
        users(w.adminToken).disableUser({ id: me }),
        users(w.adminToken).deleteUser({ id: me }),
        users(w.adminToken).updateUser({ user: { id: me, role: Role.OPERATOR }, updateMask: { paths: ["role"] } }),
      ]) {
        const err = await errorOf(call);
        expect(err.code).to.equal(Code.FailedPrecondition);
        expect(errorReasons(err)).to.deep.equal(["OWN_ACCOUNT"]);
      }
    });

    it("paginates users in a stable id order", async () => {
      const seen: string[] = [];
      let token = "";
      do {
        const page = await users(w.adminToken).listUsers({ pageSize: 3, pageToken: token });
        seen.push(...page.users.map((x) => x.id));
        token = page.nextPageToken;
      } while (token);
      expect(seen).to.deep.equal(await t.hub.db.knex("users").whereNull("deleted_at").orderBy("id").pluck("id"));
    });
  });

  describe("tenant_admin", () => {
    it("manages users of its own tenant", async () => {
      const c = users(w.a.tenantAdminToken);
      const u = (await c.createUser({ username: "usr-ta-made", password: PASSWORD, role: Role.USER })).user!;
      expect(u.tenantId).to.equal(w.a.tenantId);
      expect(u.creatorId).to.equal(w.a.tenantAdminId);
      expect((await c.getUser({ id: u.id })).user!.username).to.equal("usr-ta-made");
      await c.updateUser({ user: { id: u.id, email: "ta@example.org" }, updateMask: { paths: ["email"] } });
      await c.deleteUser({ id: u.id });
      expect((await t.hub.db.knex("users").where("id", u.id).first()).deleted_at).to.be.instanceOf(Date);
    });

    it("cannot grant system roles", async () => {
      const before = await countRows(t, "users");
      expect(
        await codeOf(
          users(w.a.tenantAdminToken).createUser({ username: "usr-x", password: PASSWORD, role: Role.ADMIN }),
        ),
      ).to.equal(Code.PermissionDenied);
      expect(
        await codeOf(
          users(w.a.tenantAdminToken).updateUser({
            user: { id: w.a.userId, role: Role.OPERATOR },
            updateMask: { paths: ["role"] },
          }),
        ),
      ).to.equal(Code.PermissionDenied);
      expect(await countRows(t, "users")).to.equal(before);
      expect((await t.hub.db.knex("users").where("id", w.a.userId).first()).role).to.equal("user");
    });

    it("gets not_found for another tenant's users on read, update and delete, and for system accounts", async () => {
      const c = users(w.a.tenantAdminToken);
      expect(await codeOf(c.getUser({ id: w.b.userId }))).to.equal(Code.NotFound);
      expect(
        await codeOf(
          c.updateUser({ user: { id: w.b.userId, email: "x@example.org" }, updateMask: { paths: ["email"] } }),
        ),
      ).to.equal(Code.NotFound);
      expect(await codeOf(c.lockUser({ id: w.b.userId }))).to.equal(Code.NotFound);
      expect(await codeOf(c.setUserPassword({ id: w.b.userId, password: PASSWORD }))).to.equal(Code.NotFound);
      expect(await codeOf(c.deleteUser({ id: w.b.userId }))).to.equal(Code.NotFound);
      expect(await codeOf(c.getUser({ id: w.operatorId }))).to.equal(Code.NotFound);
      expect(
        await codeOf(
          c.createUser({ tenantId: w.b.tenantId, username: "usr-in-b", password: PASSWORD, role: Role.USER }),
        ),
      ).to.equal(Code.NotFound);
      const row = await t.hub.db.knex("users").where("id", w.b.userId).first();
      expect(row.status).to.equal("active");
      expect(row.deleted_at).to.equal(null);
    });

    it("lists only its tenant's users; naming another tenant is not_found", async () => {
      const list = await users(w.a.tenantAdminToken).listUsers({ pageSize: 500 });
      expect(list.users.length).to.be.greaterThan(0);
      expect(list.users.every((u) => u.tenantId === w.a.tenantId)).to.equal(true);
      expect(await codeOf(users(w.a.tenantAdminToken).listUsers({ tenantId: w.b.tenantId }))).to.equal(Code.NotFound);
    });
  });

  describe("user", () => {
    it("sees only itself", async () => {
      const c = users(w.a.userToken);
      expect((await c.getUser({ id: w.a.userId })).user!.id).to.equal(w.a.userId);
      expect(await codeOf(c.getUser({ id: w.a.tenantAdminId }))).to.equal(Code.NotFound);
      expect(await codeOf(c.getUser({ id: w.b.userId }))).to.equal(Code.NotFound);
      expect((await c.listUsers({})).users.map((u) => u.id)).to.deep.equal([w.a.userId]);
      expect(await codeOf(c.listUsers({ tenantId: w.b.tenantId }))).to.equal(Code.NotFound);
    });

    it("cannot create, update or delete users", async () => {
      const c = users(w.a.userToken);
      expect(await codeOf(c.createUser({ username: "usr-by-user", password: PASSWORD, role: Role.USER }))).to.equal(
        Code.PermissionDenied,
      );
      expect(
        await codeOf(
          c.updateUser({ user: { id: w.a.userId, role: Role.TENANT_ADMIN }, updateMask: { paths: ["role"] } }),
        ),
      ).to.equal(Code.PermissionDenied);
      expect(await codeOf(c.setUserPassword({ id: w.a.userId, password: "another-password" }))).to.equal(
        Code.PermissionDenied,
      );
      expect(await codeOf(c.deleteUser({ id: w.a.userId }))).to.equal(Code.PermissionDenied);
      expect((await t.hub.db.knex("users").where("id", w.a.userId).first()).role).to.equal("user");
    });
  });

  it("operator manages no users", async () => {
    const c = users(w.operatorToken);
    expect(await codeOf(c.listUsers({}))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.getUser({ id: w.a.userId }))).to.equal(Code.PermissionDenied);
    expect(
      await codeOf(
        c.createUser({ tenantId: w.a.tenantId, username: "usr-op-made", password: PASSWORD, role: Role.USER }),
      ),
    ).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.lockUser({ id: w.a.userId }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.deleteUser({ id: w.a.userId }))).to.equal(Code.PermissionDenied);
  });
});
