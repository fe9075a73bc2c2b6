import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { UserService, UserStatus } from "../../gen/edgehub/admin/v1/user_pb.js";
import { LOCKOUT_THRESHOLD } from "../../hub/auth/login.js";
import { FailedPreconditionError } from "../../hub/domain/errors.js";
import { userTransition } from "../../hub/identity/user-lifecycle.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { buildWorld, codeOf, countRows, errorOf, PASSWORD, type World } from "./identity-fixtures.js";

describe("user state machine", () => {
  it("moves between active, inactive and locked only through the matching verb", () => {
    expect(userTransition("disable", "active", false, "u")).to.deep.equal({ to: "inactive" });
    expect(userTransition("disable", "locked", false, "u")).to.deep.equal({ to: "inactive" });
    expect(userTransition("disable", "inactive", false, "u")).to.equal("unchanged");
    expect(userTransition("lock", "inactive", false, "u")).to.deep.equal({ to: "locked" });
    expect(userTransition("lock", "locked", false, "u")).to.equal("unchanged");
    expect(userTransition("enable", "inactive", false, "u")).to.deep.equal({ to: "active" });
    expect(userTransition("enable", "active", false, "u")).to.equal("unchanged");
    expect(userTransition("unlock", "locked", false, "u")).to.deep.equal({ to: "active" });
    expect(userTransition("unlock", "active", true, "u")).to.deep.equal({ to: "active" });
    expect(userTransition("unlock", "active", false, "u")).to.equal("unchanged");
    expect(() => userTransition("enable", "locked", false, "u"))
      .to.throw(FailedPreconditionError)
      .with.property("reason", "USER_LOCKED");
    expect(() => userTransition("unlock", "inactive", false, "u"))
      .to.throw(FailedPreconditionError)
      .with.property("reason", "USER_INACTIVE");
  });
});

describe("UserService verbs", function () {
  this.timeout(60_000);
  let t: TestHub;
  let w: World;
  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "ulc");
  });
  after(async () => t?.stop());

  const users = (token: string) => t.client(UserService, token);
  const liveTokens = async (userId: string) =>
    Number(
      (await t.hub.db.knex("auth_tokens").where("user_id", userId).whereNull("revoked_at").count({ n: "*" }).first())!
        .n,
    );
  const newUser = async (username: string) =>
    (await users(w.adminToken).createUser({ tenantId: w.a.tenantId, username, password: PASSWORD, role: Role.USER }))
      .user!;

  it("disabling revokes the user's tokens and refuses login; enabling lets it in again; each audited", async () => {
    const u = await newUser("ulc-dis");
    const token = await t.login(u.username, PASSWORD, w.a.tenantName);
    expect((await users(w.a.tenantAdminToken).disableUser({ id: u.id })).user!.status).to.equal(UserStatus.INACTIVE);
    expect(await liveTokens(u.id)).to.equal(0);
    expect(await codeOf(t.client(AuthService, token).whoAmI({}))).to.equal(Code.Unauthenticated);
    expect(await codeOf(t.login(u.username, PASSWORD, w.a.tenantName))).to.equal(Code.PermissionDenied);
    // A disabled account is not unlocked: the refusal names the verb to use.
    const unlock = await errorOf(users(w.adminToken).unlockUser({ id: u.id }));
    expect([unlock.code, errorReasons(unlock)]).to.deep.equal([Code.FailedPrecondition, ["USER_INACTIVE"]]);
    expect((await users(w.a.tenantAdminToken).enableUser({ id: u.id })).user!.status).to.equal(UserStatus.ACTIVE);
    expect(await t.login(u.username, PASSWORD, w.a.tenantName)).to.match(/^ehb_/);
    const actions = await t.hub.db
      .knex("audit_log")
      .where("target_id", u.id)
      .whereLike("action", "user.%")
      .orderBy("id")
      .pluck("action");
    expect(actions).to.deep.equal(["user.create", "user.disable", "user.enable"]);
  });

  it("a locked user is enabled only by UnlockUser (USER_LOCKED otherwise); a repeated verb writes nothing", async () => {
    const u = await newUser("ulc-lock");
    await users(w.adminToken).lockUser({ id: u.id });
    const auditBefore = await countRows(t, "audit_log");
    expect((await users(w.adminToken).lockUser({ id: u.id })).user!.status).to.equal(UserStatus.LOCKED);
    expect(await countRows(t, "audit_log")).to.equal(auditBefore);
    const enable = await errorOf(users(w.adminToken).enableUser({ id: u.id }));
    expect([enable.code, errorReasons(enable)]).to.deep.equal([Code.FailedPrecondition, ["USER_LOCKED"]]);
    expect((await t.hub.db.knex("users").where("id", u.id).first()).status).to.equal("locked");
    expect((await users(w.adminToken).unlockUser({ id: u.id })).user!.status).to.equal(UserStatus.ACTIVE);
    expect(await t.login(u.username, PASSWORD, w.a.tenantName)).to.match(/^ehb_/);
  });

  it("UnlockUser ends a lockout after failed logins", async () => {
    const u = await newUser("ulc-fails");
    for (let i = 0; i < LOCKOUT_THRESHOLD; i++) await codeOf(t.login(u.username, `wrong-${i}`, w.a.tenantName));
    expect(await codeOf(t.login(u.username, PASSWORD, w.a.tenantName))).to.equal(Code.PermissionDenied);
    await users(w.adminToken).unlockUser({ id: u.id });
    expect(await t.login(u.username, PASSWORD, w.a.tenantName)).to.match(/^ehb_/);
  });

  it("SetUserPassword replaces the password and ends every session; the audit row holds no secret", async () => {
    const u = await newUser("ulc-pw");
    const token = await t.login(u.username, PASSWORD, w.a.tenantName);
    const short = await errorOf(users(w.adminToken).setUserPassword({ id: u.id, password: "short" }));
    expect(violatedFields(short)).to.deep.equal(["password"]);
    await users(w.a.tenantAdminToken).setUserPassword({ id: u.id, password: "a-new-password" });
    expect(await codeOf(t.client(AuthService, token).whoAmI({}))).to.equal(Code.Unauthenticated);
    expect(await codeOf(t.login(u.username, PASSWORD, w.a.tenantName))).to.equal(Code.Unauthenticated);
    expect(await t.login(u.username, "a-new-password", w.a.tenantName)).to.match(/^ehb_/);
    const audit = await t.hub.db.knex("audit_log").where({ target_id: u.id, action: "user.set_password" }).first();
    expect(JSON.stringify(audit)).to.not.contain("a-new-password");
  });

  it("verbs answer invalid_argument for a malformed id and not_found for an unknown one", async () => {
    for (const verb of ["disableUser", "enableUser", "lockUser", "unlockUser"] as const) {
      const bad = await errorOf(users(w.adminToken)[verb]({ id: "nope" }));
      expect([bad.code, violatedFields(bad)]).to.deep.equal([Code.InvalidArgument, ["id"]]);
      expect(await codeOf(users(w.adminToken)[verb]({ id: "0190a000-0000-7000-8000-000000000000" }))).to.equal(
        Code.NotFound,
      );
    }
  });
});
