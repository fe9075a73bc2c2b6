import { expect } from "chai";
import http from "node:http";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { TenantService } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { GLOBAL_LOCKOUT_THRESHOLD, LOCKOUT_MS, LOCKOUT_THRESHOLD } from "../../hub/auth/login.js";
import { ManualClock } from "../../lib/clock/clock.js";
import { startTestHub, TEST_ADMIN_PASSWORD, type TestHub } from "../support/test-hub.js";

interface Answer {
  status: number;
  code: string;
  message: string;
}

/** Login over Connect's JSON protocol from a chosen loopback address (failures count per address). */
function loginFrom(port: number, localAddress: string, body: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        localAddress,
        method: "POST",
        path: "/edgehub.admin.v1.AuthService/Login",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          const json = JSON.parse(text) as { code?: string; message?: string; token?: string };
          resolve({ status: res.statusCode ?? 0, code: json.code ?? "ok", message: json.message ?? "" });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const UNKNOWN_USER_ANSWER: Answer = {
  status: 401,
  code: "unauthenticated",
  message: "Login failed: invalid username or password",
};

describe("login reveals nothing to a guesser, and lockouts are per address (security #3)", function () {
  this.timeout(180_000);
  const clock = new ManualClock();
  let t: TestHub;
  let port: number;
  let adminToken: string;
  const PASSWORD = "a-long-enough-password";

  before(async () => {
    t = await startTestHub({ clock });
    port = t.hub.httpPort;
    adminToken = await t.adminToken();
  });
  after(async () => t?.stop());

  async function newUser(username: string, tenantId = ""): Promise<string> {
    const res = await t.client(UserService, adminToken).createUser({
      username,
      email: `${username}@example.org`,
      password: PASSWORD,
      role: tenantId ? Role.USER : Role.OPERATOR,
      ...(tenantId ? { tenantId } : {}),
    });
    return res.user!.id;
  }

  it("a wrong password for a locked, disabled or suspended-tenant account answers exactly like an unknown user", async () => {
    expect(await loginFrom(port, "127.0.0.1", { username: "nobody-at-all", password: "whatever-123" })).to.deep.equal(
      UNKNOWN_USER_ANSWER,
    );
    const users = t.client(UserService, adminToken);
    const locked = await newUser("enum-locked");
    await users.lockUser({ id: locked });
    const disabled = await newUser("enum-disabled");
    await users.disableUser({ id: disabled });
    const tenant = (await t.client(TenantService, adminToken).createTenant({ name: "enum-suspended" })).tenant!;
    await newUser("enum-in-suspended", tenant.id);
    await t.client(TenantService, adminToken).suspendTenant({ id: tenant.id });

    for (const username of ["enum-locked", "enum-disabled", "enum-in-suspended"]) {
      const wrong = await loginFrom(port, "127.0.0.1", { username, password: "not-the-password" });
      expect(wrong, username).to.deep.equal(UNKNOWN_USER_ANSWER);
      // Only the right password learns the account's state.
      const right = await loginFrom(port, "127.0.0.1", { username, password: PASSWORD });
      expect(right.code, username).to.equal("permission_denied");
    }
  });

  it(`${LOCKOUT_THRESHOLD} failures from one address lock that address only; the owner still logs in from theirs`, async () => {
    const id = await newUser("enum-target");
    for (let i = 0; i < LOCKOUT_THRESHOLD; i++)
      expect(await loginFrom(port, "127.0.0.7", { username: "enum-target", password: `guess-${i}` })).to.deep.equal(
        UNKNOWN_USER_ANSWER,
      );
    // The guesser's address is locked: even the right password from there is refused…
    const fromGuesser = await loginFrom(port, "127.0.0.7", { username: "enum-target", password: PASSWORD });
    expect(fromGuesser.code).to.equal("permission_denied");
    expect(fromGuesser.message).to.contain("locked for this address");
    // …and further guesses from there still look like an unknown user.
    expect(await loginFrom(port, "127.0.0.7", { username: "enum-target", password: "guess-x" })).to.deep.equal(
      UNKNOWN_USER_ANSWER,
    );
    // The owner, elsewhere, is not locked out.
    expect((await loginFrom(port, "127.0.0.1", { username: "enum-target", password: PASSWORD })).code).to.equal("ok");
    const lockout = await t.hub.db.knex("audit_log").where({ action: "auth.lockout", target_id: id }).first();
    expect(lockout, "the lockout is audited").to.not.equal(undefined);
    expect(JSON.stringify(lockout.after ?? lockout)).to.contain("127.0.0.7");
    // The address lock ends after its time.
    clock.advance(LOCKOUT_MS + 1000);
    expect((await loginFrom(port, "127.0.0.7", { username: "enum-target", password: PASSWORD })).code).to.equal("ok");
  });

  it("the admin account is not locked out by a guesser, and a spread-out campaign trips the hub-wide backstop", async () => {
    for (let i = 0; i < LOCKOUT_THRESHOLD + 2; i++)
      await loginFrom(port, "127.0.0.9", { username: "admin", password: `guess-${i}` });
    expect((await loginFrom(port, "127.0.0.1", { username: "admin", password: TEST_ADMIN_PASSWORD })).code).to.equal(
      "ok",
    );

    await newUser("enum-campaign");
    const addresses = Math.ceil(GLOBAL_LOCKOUT_THRESHOLD / LOCKOUT_THRESHOLD);
    for (let a = 0; a < addresses; a++)
      for (let i = 0; i < LOCKOUT_THRESHOLD; i++)
        await loginFrom(port, `127.0.1.${a + 1}`, { username: "enum-campaign", password: `guess-${a}-${i}` });
    const fresh = await loginFrom(port, "127.0.2.1", { username: "enum-campaign", password: PASSWORD });
    expect(fresh.code).to.equal("permission_denied");
    expect(fresh.message).to.not.contain("for this address");
    const audit = await t.hub.db.knex("audit_log").where({ action: "auth.lockout" }).select("after");
    expect(JSON.stringify(audit)).to.contain('"lockout_scope":"account"');
  });
});
