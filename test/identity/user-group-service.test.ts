import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { QuotaMode } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { UserGroupService } from "../../gen/edgehub/admin/v1/user_group_pb.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
import { buildWorld, codeOf, countRows, errorOf, type World } from "./identity-fixtures.js";

describe("UserGroupService", function () {
  let t: TestHub;
  let w: World;
  before(async () => {
    t = await startTestHub();
    w = await buildWorld(t, "grp");
  });
  after(async () => t?.stop());

  const groups = (token: string) => t.client(UserGroupService, token);
  type GroupFields = { name?: string; description?: string; parentGroupId?: string; quotaMode?: QuotaMode };
  /** UpdateUserGroup of the given fields (camelCase keys become the mask's snake_case paths). */
  const update = (token: string, id: string, fields: GroupFields, etag = "") =>
    groups(token).updateUserGroup({
      group: { id, etag, ...fields },
      updateMask: { paths: Object.keys(fields).map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) },
    });
  const members = async (token: string, groupId: string) =>
    (await groups(token).listGroupMembers({ groupId, pageSize: 1000 })).members.map((m) => m.userId);

  it("admin builds a tree with quota and mode, adds members, and each change is audited", async () => {
    const c = groups(w.adminToken);
    const root = (
      await c.createUserGroup({
        tenantId: w.a.tenantId,
        name: "grp-faculty",
        quotaMode: QuotaMode.SHARED,
        quota: { maxInstances: 30 },
      })
    ).group!;
    const child = (await c.createUserGroup({ tenantId: w.a.tenantId, name: "grp-class", parentGroupId: root.id }))
      .group!;
    expect(child.parentGroupId).to.equal(root.id);
    expect(child.quotaMode).to.equal(QuotaMode.INDEPENDENT);
    const withMembers = (await c.addGroupMembers({ groupId: child.id, userIds: [w.a.userId, w.a.userId] })).group!;
    expect(withMembers.etag, "membership changes the group's etag").to.not.equal(child.etag);
    expect(await members(w.adminToken, child.id)).to.deep.equal([w.a.userId]);
    expect((await c.listUserGroups({ memberUserId: w.a.userId })).groups.map((g) => g.id))
      .to.include(child.id)
      .and.not.include(root.id);
    const row = await t.hub.db.knex("user_groups").where("id", root.id).first();
    expect(row.quota_config).to.deep.equal({ max_instances: 30 });
    expect(row.quota_mode).to.equal("shared");
    expect(await t.hub.db.knex("user_group_members").where("group_id", child.id).pluck("user_id")).to.deep.equal([
      w.a.userId,
    ]);
    const actions = await t.hub.db
      .knex("audit_log")
      .whereIn("target_id", [root.id, child.id])
      .orderBy("id")
      .pluck("action");
    expect(actions).to.deep.equal(["user_group.create", "user_group.create", "user_group.add_members"]);
    await c.removeGroupMembers({ groupId: child.id, userIds: [w.a.userId] });
    expect(
      await t.hub.db.knex("user_group_members").where("group_id", child.id).count({ n: "*" }).first(),
    ).to.deep.equal({ n: 0 });
  });

  it("refuses making a group its own ancestor, directly or through a descendant, writing nothing", async () => {
    const c = groups(w.adminToken);
    const a = (await c.createUserGroup({ tenantId: w.a.tenantId, name: "grp-cyc-a" })).group!;
    const b = (await c.createUserGroup({ tenantId: w.a.tenantId, name: "grp-cyc-b", parentGroupId: a.id })).group!;
    const cc = (await c.createUserGroup({ tenantId: w.a.tenantId, name: "grp-cyc-c", parentGroupId: b.id })).group!;
    const auditBefore = await countRows(t, "audit_log");
    const self = await errorOf(update(w.adminToken, a.id, { parentGroupId: a.id }));
    expect(self.code).to.equal(Code.InvalidArgument);
    expect(violatedFields(self)).to.deep.equal(["group.parent_group_id"]);
    expect(self.rawMessage).to.contain("its own ancestor");
    const viaGrandchild = await errorOf(update(w.adminToken, a.id, { parentGroupId: cc.id }));
    expect(viaGrandchild.code).to.equal(Code.InvalidArgument);
    expect(viaGrandchild.rawMessage).to.contain("descendant");
    expect((await t.hub.db.knex("user_groups").where("id", a.id).first()).parent_group_id).to.equal(null);
    expect(await countRows(t, "audit_log")).to.equal(auditBefore);
    // Moving the leaf to the root is fine.
    expect((await update(w.adminToken, cc.id, { parentGroupId: "" })).group!.parentGroupId).to.equal("");
  });

  it("never closes a cycle when two groups are re-parented under each other at the same time", async () => {
    const c = groups(w.adminToken);
    const x = (await c.createUserGroup({ tenantId: w.a.tenantId, name: "grp-race-x" })).group!;
    const y = (await c.createUserGroup({ tenantId: w.a.tenantId, name: "grp-race-y" })).group!;
    const results = await Promise.allSettled([
      update(w.adminToken, x.id, { parentGroupId: y.id }),
      update(w.adminToken, y.id, { parentGroupId: x.id }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled").length).to.equal(1);
    const rows = await t.hub.db.knex("user_groups").whereIn("id", [x.id, y.id]).pluck("parent_group_id");
    expect(rows.filter((r) => r !== null).length).to.equal(1);
  });

  it("refuses empty names, duplicate names, unknown modes and negative quotas, writing nothing", async () => {
    const c = groups(w.adminToken);
    const before = [await countRows(t, "user_groups"), await countRows(t, "audit_log")];
    await c.createUserGroup({ tenantId: w.b.tenantId, name: "grp-dup" });
    const after1 = [await countRows(t, "user_groups"), await countRows(t, "audit_log")];
    expect(after1).to.deep.equal([before[0]! + 1, before[1]! + 1]);
    expect((await errorOf(c.createUserGroup({ tenantId: w.b.tenantId, name: "" }))).rawMessage).to.contain("name");
    expect(await codeOf(c.createUserGroup({ tenantId: w.b.tenantId, name: "GRP-DUP" }))).to.equal(Code.AlreadyExists);
    expect(
      violatedFields(
        await errorOf(c.createUserGroup({ tenantId: w.b.tenantId, name: "grp-m", quotaMode: 9 as QuotaMode })),
      ),
    ).to.deep.equal(["quota_mode"]);
    const neg = await errorOf(c.createUserGroup({ tenantId: w.b.tenantId, name: "grp-n", quota: { maxCpuCores: -4 } }));
    expect(neg.code).to.equal(Code.InvalidArgument);
    expect(neg.rawMessage).to.contain("quota.max_cpu_cores");
    expect(
      await codeOf(
        c.addGroupMembers({
          groupId: (await t.hub.db.knex("user_groups").where("name", "grp-dup").first()).id,
          userIds: [],
        }),
      ),
    ).to.equal(Code.InvalidArgument);
    expect([await countRows(t, "user_groups"), await countRows(t, "audit_log")]).to.deep.equal(after1);
  });

  it("refuses deleting a group with subgroups; deleting a leaf soft-deletes it and drops its memberships", async () => {
    const c = groups(w.adminToken);
    const p = (await c.createUserGroup({ tenantId: w.a.tenantId, name: "grp-del-p" })).group!;
    const k = (await c.createUserGroup({ tenantId: w.a.tenantId, name: "grp-del-k", parentGroupId: p.id })).group!;
    await c.addGroupMembers({ groupId: k.id, userIds: [w.a.userId] });
    const refused = await errorOf(c.deleteUserGroup({ id: p.id }));
    expect([refused.code, errorReasons(refused)]).to.deep.equal([Code.FailedPrecondition, ["GROUP_HAS_SUBGROUPS"]]);
    await c.deleteUserGroup({ id: k.id });
    expect((await t.hub.db.knex("user_groups").where("id", k.id).first()).deleted_at).to.be.instanceOf(Date);
    expect(await t.hub.db.knex("user_group_members").where("group_id", k.id).count({ n: "*" }).first()).to.deep.equal({
      n: 0,
    });
    await c.deleteUserGroup({ id: p.id });
  });

  describe("tenant_admin", () => {
    it("updates, re-parents, changes members of and deletes its own tenant's groups", async () => {
      const c = groups(w.a.tenantAdminToken);
      const p = (await c.createUserGroup({ name: "grp-ta-p" })).group!;
      const g = (await c.createUserGroup({ name: "grp-ta-g" })).group!;
      const upd = (
        await update(w.a.tenantAdminToken, g.id, {
          name: "grp-ta-g2",
          parentGroupId: p.id,
          quotaMode: QuotaMode.SHARED,
        })
      ).group!;
      expect([upd.name, upd.parentGroupId, upd.quotaMode, upd.updaterId]).to.deep.equal([
        "grp-ta-g2",
        p.id,
        QuotaMode.SHARED,
        w.a.tenantAdminId,
      ]);
      await c.addGroupMembers({ groupId: g.id, userIds: [w.a.userId, w.a.tenantAdminId] });
      await c.removeGroupMembers({ groupId: g.id, userIds: [w.a.tenantAdminId] });
      expect(await members(w.a.tenantAdminToken, g.id)).to.deep.equal([w.a.userId]);
      await c.deleteUserGroup({ id: g.id });
      await c.deleteUserGroup({ id: p.id });
      expect(
        await t.hub.db
          .knex("user_groups")
          .whereIn("id", [p.id, g.id])
          .whereNull("deleted_at")
          .count({ n: "*" })
          .first(),
      ).to.deep.equal({ n: 0 });
    });

    it("manages groups of its tenant only; another tenant's groups, users and ids answer not_found", async () => {
      const mine = (await groups(w.a.tenantAdminToken).createUserGroup({ name: "grp-ta" })).group!;
      expect(mine.tenantId).to.equal(w.a.tenantId);
      const theirs = (await groups(w.adminToken).createUserGroup({ tenantId: w.b.tenantId, name: "grp-b-only" }))
        .group!;
      const c = groups(w.a.tenantAdminToken);
      expect(await codeOf(c.getUserGroup({ id: theirs.id }))).to.equal(Code.NotFound);
      expect(await codeOf(update(w.a.tenantAdminToken, theirs.id, { name: "hijacked" }))).to.equal(Code.NotFound);
      expect(await codeOf(c.listGroupMembers({ groupId: theirs.id }))).to.equal(Code.NotFound);
      expect(await codeOf(c.deleteUserGroup({ id: theirs.id }))).to.equal(Code.NotFound);
      expect(await codeOf(c.addGroupMembers({ groupId: theirs.id, userIds: [w.a.userId] }))).to.equal(Code.NotFound);
      expect(await codeOf(c.addGroupMembers({ groupId: mine.id, userIds: [w.b.userId] }))).to.equal(Code.NotFound);
      expect(await codeOf(c.createUserGroup({ name: "grp-x", parentGroupId: theirs.id }))).to.equal(Code.NotFound);
      expect(await codeOf(c.createUserGroup({ tenantId: w.b.tenantId, name: "grp-in-b" }))).to.equal(Code.NotFound);
      expect(await codeOf(update(w.a.tenantAdminToken, mine.id, { parentGroupId: theirs.id }))).to.equal(Code.NotFound);
      const row = await t.hub.db.knex("user_groups").where("id", theirs.id).first();
      expect(row.name).to.equal("grp-b-only");
      expect(row.deleted_at).to.equal(null);
      expect(
        await t.hub.db.knex("user_group_members").where("group_id", mine.id).count({ n: "*" }).first(),
      ).to.deep.equal({ n: 0 });
      const list = await c.listUserGroups({ pageSize: 500 });
      expect(list.groups.every((g) => g.tenantId === w.a.tenantId)).to.equal(true);
      expect(await codeOf(c.listUserGroups({ tenantId: w.b.tenantId }))).to.equal(Code.NotFound);
    });
  });

  describe("user", () => {
    it("reads only groups it belongs to and changes none", async () => {
      const admin = groups(w.adminToken);
      const member = (await admin.createUserGroup({ tenantId: w.a.tenantId, name: "grp-u-in" })).group!;
      const notMember = (await admin.createUserGroup({ tenantId: w.a.tenantId, name: "grp-u-out" })).group!;
      await admin.addGroupMembers({ groupId: member.id, userIds: [w.a.userId] });
      const c = groups(w.a.userToken);
      expect((await c.getUserGroup({ id: member.id })).group!.id).to.equal(member.id);
      expect(await codeOf(c.getUserGroup({ id: notMember.id }))).to.equal(Code.NotFound);
      expect(await members(w.a.userToken, member.id)).to.deep.equal([w.a.userId]);
      expect(await codeOf(c.listGroupMembers({ groupId: notMember.id }))).to.equal(Code.NotFound);
      expect(await codeOf(c.listUserGroups({ memberUserId: w.a.tenantAdminId }))).to.equal(Code.NotFound);
      const listed = (await c.listUserGroups({ pageSize: 500 })).groups.map((g) => g.id);
      expect(listed).to.include(member.id);
      expect(listed).to.not.include(notMember.id);
      expect(await codeOf(c.createUserGroup({ name: "grp-by-user" }))).to.equal(Code.PermissionDenied);
      expect(await codeOf(update(w.a.userToken, member.id, { name: "mine" }))).to.equal(Code.PermissionDenied);
      expect(await codeOf(c.deleteUserGroup({ id: member.id }))).to.equal(Code.PermissionDenied);
      expect(await codeOf(c.addGroupMembers({ groupId: notMember.id, userIds: [w.a.userId] }))).to.equal(
        Code.PermissionDenied,
      );
      expect(await codeOf(c.removeGroupMembers({ groupId: member.id, userIds: [w.a.userId] }))).to.equal(
        Code.PermissionDenied,
      );
    });
  });

  it("operator manages no groups", async () => {
    const c = groups(w.operatorToken);
    const g = (await groups(w.adminToken).createUserGroup({ tenantId: w.a.tenantId, name: "grp-op-target" })).group!;
    expect(await codeOf(c.listUserGroups({}))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.getUserGroup({ id: g.id }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.createUserGroup({ tenantId: w.a.tenantId, name: "grp-op" }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(update(w.operatorToken, g.id, { name: "grp-op-renamed" }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.listGroupMembers({ groupId: g.id }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.deleteUserGroup({ id: g.id }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.addGroupMembers({ groupId: g.id, userIds: [w.a.userId] }))).to.equal(Code.PermissionDenied);
    expect(await codeOf(c.removeGroupMembers({ groupId: g.id, userIds: [w.a.userId] }))).to.equal(
      Code.PermissionDenied,
    );
    expect((await t.hub.db.knex("user_groups").where("id", g.id).first()).name).to.equal("grp-op-target");
  });

  it("paginates groups in a stable id order", async () => {
    const seen: string[] = [];
    let token = "";
    do {
      const page = await groups(w.adminToken).listUserGroups({ pageSize: 2, pageToken: token });
      seen.push(...page.groups.map((g) => g.id));
      token = page.nextPageToken;
    } while (token);
    expect(seen).to.deep.equal(await t.hub.db.knex("user_groups").whereNull("deleted_at").orderBy("id").pluck("id"));
  });
});
