import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { up as makeUsernamesUnique } from "../../migrations/20261201500020_usernames_unique_hub_wide.js";
import { newId } from "../../hub/db/ids.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { buildWorld, countRows, errorOf, PASSWORD, type World } from "../identity/identity-fixtures.js";

describe("usernames are unique across the hub (security #4)", function () {
  this.timeout(120_000);
  let t: TestHub;
  let w: World;
  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "uniq");
  });
  after(async () => t?.stop());

  const users = (token: string) => t.client(UserService, token);

  it("a tenant admin reusing another tenant's username gets already_exists that names no tenant, and nothing is written", async () => {
    await users(w.b.tenantAdminToken).createUser({ username: "uniq-shared", password: PASSWORD, role: Role.USER });
    const before = [await countRows(t, "users"), await countRows(t, "audit_log")];
    const err = await errorOf(
      users(w.a.tenantAdminToken).createUser({ username: "UNIQ-Shared", password: PASSWORD, role: Role.USER }),
    );
    expect(err.code).to.equal(Code.AlreadyExists);
    expect(err.rawMessage).to.contain("is taken");
    expect(err.rawMessage).to.not.contain(w.b.tenantId).and.not.contain(w.b.tenantName);
    expect([await countRows(t, "users"), await countRows(t, "audit_log")]).to.deep.equal(before);
    // The existing account's login is unaffected, with or without its tenant.
    expect(await t.login("uniq-shared", PASSWORD)).to.match(/^ehb_/);
    expect(await t.login("uniq-shared", PASSWORD, w.b.tenantName)).to.match(/^ehb_/);
  });

  it("concurrent creations of one username in different tenants: exactly one wins, the others are already_exists", async () => {
    const attempts = await Promise.allSettled(
      [w.a, w.b, w.a, w.b, w.a, w.b].map((actors) =>
        users(actors.tenantAdminToken).createUser({ username: "uniq-race", password: PASSWORD, role: Role.USER }),
      ),
    );
    const won = attempts.filter((a) => a.status === "fulfilled");
    expect(won).to.have.length(1);
    for (const lost of attempts.filter((a) => a.status === "rejected"))
      expect((lost as PromiseRejectedResult).reason.code).to.equal(Code.AlreadyExists);
    expect(await t.hub.db.knex("users").whereRaw("lower(username) = 'uniq-race'").count<{ n: string }[]>({ n: "*" }))
      .to.have.nested.property("[0].n")
      .that.satisfies((n: unknown) => Number(n) === 1);
  });

  it("the unique index is the database's rule, and the migration refuses a hub that already holds clashes", async () => {
    const knex = t.hub.db.knex;
    const row = (tenantId: string) => ({
      id: newId(),
      tenant_id: tenantId,
      username: "uniq-legacy",
      password_hash: "x",
      role: "user",
      status: "active",
    });
    await knex("users").insert(row(w.a.tenantId));
    let refused: unknown;
    await knex("users")
      .insert(row(w.b.tenantId))
      .catch((e: unknown) => (refused = e));
    expect(String((refused as { code?: string })?.code)).to.equal("23505");
    // A hub from before the rule, holding a clash: the migration stops and names the username.
    await knex.raw("DROP INDEX users_username_unique_live");
    await knex("users").insert(row(w.b.tenantId));
    let stopped: Error | undefined;
    await makeUsernamesUnique(knex).catch((e: Error) => (stopped = e));
    expect(stopped?.message).to.contain("uniq-legacy (2 accounts)");
    await knex("users").where("username", "uniq-legacy").delete();
    await makeUsernamesUnique(knex);
  });
});
