import { expect } from "chai";
import { Code, ConnectError } from "@connectrpc/connect";
import { ManualClock } from "../../lib/clock/clock.js";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { LOCKOUT_MS, LOCKOUT_THRESHOLD } from "../../hub/auth/login.js";
import { startTestHub, TEST_ADMIN_PASSWORD, type TestHub } from "../support/test-hub.js";

async function codeOf(p: Promise<unknown>): Promise<Code> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err).code;
  }
  throw new Error("expected the call to fail");
}

describe("AuthService", function () {
  let t: TestHub;
  const clock = new ManualClock();

  before(async () => {
    t = await startTestHub({ clock });
  });
  after(async () => t?.stop());

  it("logs the first admin in and WhoAmI names them", async () => {
    const auth = t.client(AuthService);
    const res = await auth.login({ username: "admin", password: TEST_ADMIN_PASSWORD });
    expect(res.token).to.match(/^ehb_/);
    expect(res.principal?.role).to.equal(Role.ADMIN);
    expect(Number(res.expireTime!.seconds) * 1000).to.be.greaterThan(clock.now().getTime());
    const me = await t.client(AuthService, res.token).whoAmI({});
    expect(me.principal?.username).to.equal("admin");
  });

  it("answers curl's JSON login with the role's enum name and the expiry as expireTime; WhoAmI answers a GET", async () => {
    const res = await fetch(`${t.baseUrl}/edgehub.admin.v1.AuthService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: TEST_ADMIN_PASSWORD }),
    });
    const body = (await res.json()) as {
      token: string;
      expireTime: string;
      principal: { role: string; username: string; userId: string };
    };
    expect(body.principal.role).to.equal("ROLE_ADMIN");
    expect(Date.parse(body.expireTime)).to.be.greaterThan(clock.now().getTime());
    const me = await fetch(
      `${t.baseUrl}/edgehub.admin.v1.AuthService/WhoAmI?connect=v1&encoding=json&message=${encodeURIComponent("{}")}`,
      {
        headers: { authorization: `Bearer ${body.token}` },
      },
    );
    expect(me.status).to.equal(200);
    const who = (await me.json()) as { principal: { userId: string; role: string }; tokenExpireTime: string };
    expect(who.principal).to.deep.include({ userId: body.principal.userId, role: "ROLE_ADMIN" });
    expect(who.tokenExpireTime).to.equal(body.expireTime);
  });

  it("refuses a wrong password with unauthenticated and records the failure", async () => {
    expect(await codeOf(t.client(AuthService).login({ username: "admin", password: "wrong" }))).to.equal(
      Code.Unauthenticated,
    );
    const row = await t.hub.db.knex("users").where("username", "admin").first("failed_login_count");
    expect(row.failed_login_count).to.equal(1);
    const audit = await t.hub.db
      .knex("audit_log")
      .where("action", "auth.login_failed")
      .count<{ count: number }[]>({ count: "*" });
    expect(Number(audit[0]!.count)).to.equal(1);
  });

  it("refuses an unknown user exactly like a wrong password", async () => {
    const err = await t
      .client(AuthService)
      .login({ username: "nobody", password: "x" })
      .catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).to.equal(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).to.equal("Login failed: invalid username or password");
  });

  it("rejects empty credentials as invalid_argument naming the field, writing nothing", async () => {
    const before = await t.hub.db.knex("audit_log").count<{ count: number }[]>({ count: "*" });
    const err = ConnectError.from(
      await t
        .client(AuthService)
        .login({ username: "", password: "x" })
        .catch((e) => e),
    );
    expect(err.code).to.equal(Code.InvalidArgument);
    expect(err.rawMessage).to.contain("username");
    const after = await t.hub.db.knex("audit_log").count<{ count: number }[]>({ count: "*" });
    expect(after[0]!.count).to.equal(before[0]!.count);
  });

  it(`locks the account for 15 minutes after ${LOCKOUT_THRESHOLD} failures in a row`, async () => {
    const auth = t.client(AuthService);
    await auth.login({ username: "admin", password: TEST_ADMIN_PASSWORD }); // resets the counter
    for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
      expect(await codeOf(auth.login({ username: "admin", password: `wrong-${i}` }))).to.equal(Code.Unauthenticated);
    }
    // Even the right password is refused while locked.
    expect(await codeOf(auth.login({ username: "admin", password: TEST_ADMIN_PASSWORD }))).to.equal(
      Code.PermissionDenied,
    );
    clock.advance(LOCKOUT_MS - 1000);
    expect(await codeOf(auth.login({ username: "admin", password: TEST_ADMIN_PASSWORD }))).to.equal(
      Code.PermissionDenied,
    );
    clock.advance(2000);
    const res = await auth.login({ username: "admin", password: TEST_ADMIN_PASSWORD });
    expect(res.token).to.match(/^ehb_/);
  });

  it("counts concurrent failures exactly (no lost updates under the row lock)", async () => {
    const auth = t.client(AuthService);
    await auth.login({ username: "admin", password: TEST_ADMIN_PASSWORD });
    await Promise.all([1, 2, 3].map((i) => codeOf(auth.login({ username: "admin", password: `bad-${i}` }))));
    const row = await t.hub.db.knex("users").where("username", "admin").first("failed_login_count");
    expect(row.failed_login_count).to.equal(3);
    await auth.login({ username: "admin", password: TEST_ADMIN_PASSWORD });
  });

  it("rejects calls without a token, with a malformed token, and after logout", async () => {
    expect(await codeOf(t.client(AuthService).whoAmI({}))).to.equal(Code.Unauthenticated);
    expect(await codeOf(t.client(AuthService, "ehb_not-a-token").whoAmI({}))).to.equal(Code.Unauthenticated);
    const token = await t.login("admin", TEST_ADMIN_PASSWORD);
    await t.client(AuthService, token).logout({});
    expect(await codeOf(t.client(AuthService, token).whoAmI({}))).to.equal(Code.Unauthenticated);
  });

  it("expires tokens after their lifetime", async () => {
    const token = await t.login("admin", TEST_ADMIN_PASSWORD);
    clock.advance(t.config.tokenTtlSeconds * 1000 + 1000);
    expect(await codeOf(t.client(AuthService, token).whoAmI({}))).to.equal(Code.Unauthenticated);
  });
});
