import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { ConfigError, parseHubConfig } from "../../hub/config.js";
import { checkPassword } from "../../hub/auth/password-policy.js";
import { violatedFields } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { codeOf, countRows, errorOf } from "../identity/identity-fixtures.js";

const WEAK: [string, string][] = [
  ["short-pw", "at least 12"],
  ["password1234", "most common"],
  ["Password1234!", "most common"],
  ["qwertyuiop12", "most common"],
  ["administrator", "most common"],
  ["pw-rules-owner", "username"],
  ["PW-RULES-OWNER-2026", "username"],
];

describe("password rules and changing one's own password (security #9)", function () {
  this.timeout(120_000);
  let t: TestHub;
  let adminToken: string;
  before(async () => {
    t = await startTestHub();
    adminToken = await t.adminToken();
  });
  after(async () => t?.stop());

  it("refuses short, common and username-equal passwords on CreateUser, naming the field and writing nothing", async () => {
    const before = [await countRows(t, "users"), await countRows(t, "audit_log")];
    for (const [password, why] of WEAK) {
      const err = await errorOf(
        t.client(UserService, adminToken).createUser({ username: "pw-rules-owner", password, role: Role.OPERATOR }),
      );
      expect([err.code, violatedFields(err)], password).to.deep.equal([Code.InvalidArgument, ["password"]]);
      expect(err.rawMessage, password).to.contain(why);
      expect(err.rawMessage, "never echoes the password").to.not.contain(password);
    }
    expect([await countRows(t, "users"), await countRows(t, "audit_log")]).to.deep.equal(before);
    // A passphrase passes.
    await t
      .client(UserService, adminToken)
      .createUser({ username: "pw-rules-owner", password: "correct horse battery staple", role: Role.OPERATOR });
  });

  it("SetUserPassword obeys the same rule, including the target's username", async () => {
    const u = (
      await t
        .client(UserService, adminToken)
        .createUser({ username: "pw-rules-set", password: "a-fine-long-password", role: Role.OPERATOR })
    ).user!;
    const err = await errorOf(
      t.client(UserService, adminToken).setUserPassword({ id: u.id, password: "pw-rules-set" }),
    );
    expect([err.code, violatedFields(err)]).to.deep.equal([Code.InvalidArgument, ["password"]]);
    expect(await t.login("pw-rules-set", "a-fine-long-password")).to.match(/^ehb_/);
  });

  it("HUB_ADMIN_PASSWORD obeys the same rule", () => {
    expect(() => parseHubConfig([], { HUB_ADMIN_PASSWORD: "changeme" })).to.throw(ConfigError, /at least 12/);
    expect(() => parseHubConfig([], { HUB_ADMIN_PASSWORD: "password123456" })).to.throw(ConfigError, /common/);
    expect(() => parseHubConfig([], { HUB_ADMIN_PASSWORD: "Admin!!!!!!!!" })).to.throw(ConfigError, /username/);
    expect(parseHubConfig([], { HUB_ADMIN_PASSWORD: "a-strong-admin-secret" }).adminPassword).to.equal(
      "a-strong-admin-secret",
    );
  });

  it("the shipped rule is one function: every weak example is refused by checkPassword directly", () => {
    for (const [password] of WEAK) expect(() => checkPassword("p", password, "pw-rules-owner"), password).to.throw();
  });

  it("ChangePassword needs the current password, keeps the caller's session and ends the others", async () => {
    await t
      .client(UserService, adminToken)
      .createUser({ username: "pw-rules-change", password: "first-long-password", role: Role.OPERATOR });
    const mine = await t.login("pw-rules-change", "first-long-password");
    const other = await t.login("pw-rules-change", "first-long-password");
    const auth = t.client(AuthService, mine);

    const wrong = await errorOf(
      auth.changePassword({ currentPassword: "not-the-password", newPassword: "second-long-password" }),
    );
    expect(wrong.code).to.equal(Code.PermissionDenied);
    const counted = await t.hub.db.knex("users").where("username", "pw-rules-change").first("failed_login_count");
    expect(counted.failed_login_count, "a wrong current password counts as a failed login").to.equal(1);
    const weak = await errorOf(auth.changePassword({ currentPassword: "first-long-password", newPassword: "short" }));
    expect([weak.code, violatedFields(weak)]).to.deep.equal([Code.InvalidArgument, ["new_password"]]);
    const same = await errorOf(
      auth.changePassword({ currentPassword: "first-long-password", newPassword: "first-long-password" }),
    );
    expect(violatedFields(same)).to.deep.equal(["new_password"]);
    await t.client(AuthService, other).whoAmI({}); // refused attempts ended no session

    await auth.changePassword({ currentPassword: "first-long-password", newPassword: "second-long-password" });
    expect((await auth.whoAmI({})).principal?.username, "the caller's own session stays").to.equal("pw-rules-change");
    expect(await codeOf(t.client(AuthService, other).whoAmI({}))).to.equal(Code.Unauthenticated);
    expect(await codeOf(t.login("pw-rules-change", "first-long-password"))).to.equal(Code.Unauthenticated);
    expect(await t.login("pw-rules-change", "second-long-password")).to.match(/^ehb_/);
    const audit = await t.hub.db.knex("audit_log").where("action", "auth.change_password").first();
    expect(JSON.stringify(audit)).to.not.contain("second-long-password");
  });
});
