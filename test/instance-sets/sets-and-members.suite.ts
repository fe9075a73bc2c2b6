import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { InstanceSetRole, InstanceSetStatus, InstanceSetType } from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
import { counts, failure } from "../catalog/catalog-fixtures.js";
import type { SetWorld } from "./set-world.js";

const SET_TABLES = ["instance_sets", "instance_set_members", "instance_set_instances", "audit_log"];

export function setsAndMembers(w: SetWorld): void {
  describe("InstanceSetService: sets and members (000 §2.2, §2.5.4)", function () {
    it("a teacher creates an active training set, owns it and is its teacher member, with one audit row", async () => {
      const res = await (
        await w.sets(w.teacher)
      ).createInstanceSet({
        instanceSet: { name: "Java实训", setType: InstanceSetType.TRAINING, tags: { term: "2025-spring" } },
      });
      const s = res.instanceSet!;
      expect(s.status).to.equal(InstanceSetStatus.ACTIVE);
      expect(s.ownerId).to.equal(w.teacher.userId);
      expect(s.tenantId).to.equal(w.tenantA.id);
      expect(s.tags).to.deep.equal({ term: "2025-spring" });
      expect(s.etag).to.not.equal("");
      const members = await (await w.sets(w.teacher)).listInstanceSetMembers({ instanceSetId: s.id });
      expect(members.members.map((m) => [m.userId, m.role])).to.deep.equal([
        [w.teacher.userId, InstanceSetRole.TEACHER],
      ]);
      const audit = await w
        .knex("audit_log")
        .where({ action: "instance_set.create", target_id: s.id })
        .pluck("actor_user_id");
      expect(audit).to.deep.equal([w.teacher.userId]);
    });

    it("a project set's owner is its master", async () => {
      const res = await (
        await w.sets(w.teacher)
      ).createInstanceSet({ instanceSet: { name: "proj", setType: InstanceSetType.PROJECT } });
      const m = await (await w.sets(w.teacher)).listInstanceSetMembers({ instanceSetId: res.instanceSet!.id });
      expect(m.members[0]!.role).to.equal(InstanceSetRole.MASTER);
    });

    it("refuses a bad set type, an empty or taken name, a bad tag, another owner, an unknown group, precisely, writing nothing", async () => {
      const before = await counts(w.knex, SET_TABLES);
      const c = await w.sets(w.teacher);
      const noType = await failure(c.createInstanceSet({ instanceSet: { name: "x" } }));
      expect(noType.code).to.equal(Code.InvalidArgument);
      expect(violatedFields(noType)).to.deep.equal(["instance_set.set_type"]);
      const badType = await failure(
        c.createInstanceSet({ instanceSet: { name: "x", setType: 42 as InstanceSetType } }),
      );
      expect(badType.code).to.equal(Code.InvalidArgument);
      expect(violatedFields(badType)).to.deep.equal(["instance_set.set_type"]);
      const noName = await failure(
        c.createInstanceSet({ instanceSet: { name: " ", setType: InstanceSetType.CUSTOM } }),
      );
      expect(violatedFields(noName)).to.deep.equal(["instance_set.name"]);
      const badTag = await failure(
        c.createInstanceSet({ instanceSet: { name: "t", setType: InstanceSetType.CUSTOM, tags: { "bad key": "v" } } }),
      );
      expect(badTag.code).to.equal(Code.InvalidArgument);
      expect(violatedFields(badTag)[0]).to.match(/^instance_set\.tags\[/);
      const taken = await failure(
        c.createInstanceSet({ instanceSet: { name: "JAVA实训", setType: InstanceSetType.CUSTOM } }),
      );
      expect(taken.code).to.equal(Code.AlreadyExists);
      const other = await failure(
        c.createInstanceSet({
          instanceSet: { name: "o", setType: InstanceSetType.CUSTOM, ownerId: w.teacher2.userId },
        }),
      );
      expect(other.code).to.equal(Code.NotFound);
      const group = await failure(
        c.createInstanceSet({
          instanceSet: {
            name: "g",
            setType: InstanceSetType.CUSTOM,
            userGroupId: "0193a0f0-0000-7000-8000-000000000000",
          },
        }),
      );
      expect(group.code).to.equal(Code.NotFound);
      expect(group.rawMessage).to.contain("user group");
      const adminNoOwner = await failure(
        (await w.sets("admin")).createInstanceSet({ instanceSet: { name: "a", setType: InstanceSetType.CUSTOM } }),
      );
      expect(violatedFields(adminNoOwner)).to.deep.equal(["instance_set.owner_id"]);
      expect(await counts(w.knex, SET_TABLES)).to.deep.equal(before);
    });

    it("an admin or tenant admin creates a set for a teacher, who then manages it", async () => {
      const res = await (
        await w.sets(w.tenantAdmin)
      ).createInstanceSet({
        instanceSet: { name: "by-ta", setType: InstanceSetType.TRAINING, ownerId: w.teacher2.userId },
      });
      expect(res.instanceSet!.ownerId).to.equal(w.teacher2.userId);
      const got = await (await w.sets(w.teacher2)).getInstanceSet({ id: res.instanceSet!.id });
      expect(got.instanceSet!.name).to.equal("by-ta");
      const outside = await failure(
        (await w.sets(w.tenantAdmin)).createInstanceSet({
          instanceSet: { name: "x", setType: InstanceSetType.TRAINING, ownerId: w.outsider.userId },
        }),
      );
      expect(outside.code).to.equal(Code.NotFound);
    });

    it("members: several in one call with per-user results; a duplicate and another tenant's user fail alone", async () => {
      const id = await w.trainingSet("members");
      const [s1, s2] = w.students;
      const c = await w.sets(w.teacher);
      const res = await c.addInstanceSetMembers({
        instanceSetId: id,
        members: [
          { userId: s1!.userId, role: InstanceSetRole.STUDENT },
          { userId: w.teacher.userId, role: InstanceSetRole.STUDENT },
          { userId: w.outsider.userId, role: InstanceSetRole.STUDENT },
          { userId: s2!.userId, role: InstanceSetRole.STUDENT },
        ],
      });
      expect(res.results.map((r) => [r.userId, r.member?.role ?? r.error!.code])).to.deep.equal([
        [s1!.userId, InstanceSetRole.STUDENT],
        [w.teacher.userId, "already_exists"],
        [w.outsider.userId, "not_found"],
        [s2!.userId, InstanceSetRole.STUDENT],
      ]);
      const again = await c.addInstanceSetMembers({
        instanceSetId: id,
        members: [{ userId: s1!.userId, role: InstanceSetRole.TEACHER }],
      });
      expect(again.results[0]!.error!.code).to.equal("already_exists");
      expect(again.results[0]!.error!.message).to.contain("already a student");
      const listed = await c.listInstanceSetMembers({ instanceSetId: id });
      expect(listed.members.map((m) => m.userId)).to.have.members([w.teacher.userId, s1!.userId, s2!.userId]);

      // Bad requests are refused whole.
      const dup = await failure(
        c.addInstanceSetMembers({
          instanceSetId: id,
          members: [
            { userId: s1!.userId, role: InstanceSetRole.STUDENT },
            { userId: s1!.userId, role: InstanceSetRole.STUDENT },
          ],
        }),
      );
      expect(violatedFields(dup)).to.deep.equal(["members[1].user_id"]);
      const noRole = await failure(c.addInstanceSetMembers({ instanceSetId: id, members: [{ userId: s1!.userId }] }));
      expect(violatedFields(noRole)).to.deep.equal(["members[0].role"]);
      const empty = await failure(c.addInstanceSetMembers({ instanceSetId: id, members: [] }));
      expect(violatedFields(empty)).to.deep.equal(["members"]);

      // A student neither adds nor lists members; a teacher of another set does not even see this one.
      const asStudent = await failure(
        (await w.sets(s1!)).addInstanceSetMembers({
          instanceSetId: id,
          members: [{ userId: w.students[2]!.userId, role: InstanceSetRole.STUDENT }],
        }),
      );
      expect(asStudent.code).to.equal(Code.PermissionDenied);
      expect((await failure((await w.sets(s1!)).listInstanceSetMembers({ instanceSetId: id }))).code).to.equal(
        Code.PermissionDenied,
      );
      const stranger = await failure(
        (await w.sets(w.teacher2)).addInstanceSetMembers({
          instanceSetId: id,
          members: [{ userId: w.students[2]!.userId, role: InstanceSetRole.STUDENT }],
        }),
      );
      expect(stranger.code).to.equal(Code.NotFound);

      // Remove: the owner stays; a non-member fails alone.
      const removed = await c.removeInstanceSetMembers({
        instanceSetId: id,
        userIds: [s2!.userId, w.teacher.userId, w.students[2]!.userId],
      });
      expect(removed.results.map((r) => r.error?.reason || r.error?.code || "ok")).to.deep.equal([
        "ok",
        "SET_OWNER",
        "not_found",
      ]);
      const after = await c.listInstanceSetMembers({ instanceSetId: id });
      expect(after.members.map((m) => m.userId)).to.have.members([w.teacher.userId, s1!.userId]);
      // s2 may join again: one live membership per (set, user), not one row ever.
      const rejoin = await c.addInstanceSetMembers({
        instanceSetId: id,
        members: [{ userId: s2!.userId, role: InstanceSetRole.STUDENT }],
      });
      expect(rejoin.results[0]!.member).to.not.equal(undefined);
    });

    it("get and list follow the roles: members see their sets, others get not_found, archived sets leave ordinary lists", async () => {
      const id = await w.trainingSet("visibility");
      const [s1] = w.students;
      await (
        await w.sets(w.teacher)
      ).addInstanceSetMembers({ instanceSetId: id, members: [{ userId: s1!.userId, role: InstanceSetRole.STUDENT }] });
      expect((await (await w.sets(s1!)).getInstanceSet({ id })).instanceSet!.id).to.equal(id);
      expect((await failure((await w.sets(w.teacher2)).getInstanceSet({ id }))).code).to.equal(Code.NotFound);
      expect((await failure((await w.sets(w.outsider)).getInstanceSet({ id }))).code).to.equal(Code.NotFound);
      expect((await failure((await w.sets(w.outsider)).getInstanceSet({ id: "nope" }))).code).to.equal(
        Code.InvalidArgument,
      );
      expect((await (await w.sets(w.tenantAdmin)).getInstanceSet({ id })).instanceSet!.id).to.equal(id);

      const mine = await (await w.sets(s1!)).listInstanceSets({ pageSize: 1000 });
      expect(mine.instanceSets.map((s) => s.id)).to.include(id);
      const strangers = await (await w.sets(w.teacher2)).listInstanceSets({ pageSize: 1000 });
      expect(strangers.instanceSets.map((s) => s.id)).to.not.include(id);
      const outsiders = await (await w.sets(w.outsider)).listInstanceSets({});
      expect(outsiders.instanceSets).to.deep.equal([]);
      const forOther = await failure((await w.sets(w.outsider)).listInstanceSets({ tenantId: w.tenantA.id }));
      expect(forOther.code).to.equal(Code.NotFound);
      const training = await (
        await w.sets(w.tenantAdmin)
      ).listInstanceSets({ setType: InstanceSetType.TRAINING, pageSize: 1000 });
      expect(training.instanceSets.every((s) => s.setType === InstanceSetType.TRAINING)).to.equal(true);
      expect(training.instanceSets.map((s) => s.id)).to.include(id);

      await (await w.sets(w.teacher)).archiveInstanceSet({ id });
      expect((await (await w.sets(s1!)).listInstanceSets({})).instanceSets.map((s) => s.id)).to.not.include(id);
      const archived = await (await w.sets(s1!)).listInstanceSets({ status: InstanceSetStatus.ARCHIVED });
      expect(archived.instanceSets.map((s) => s.id)).to.deep.equal([id]);
      const deletedFilter = await failure((await w.sets(s1!)).listInstanceSets({ status: InstanceSetStatus.DELETED }));
      expect(violatedFields(deletedFilter)).to.deep.equal(["status"]);
    });

    it("lists page by page without repeats", async () => {
      for (let i = 0; i < 5; i++) await w.trainingSet(`paged-${i}`);
      const c = await w.sets(w.teacher);
      const seen: string[] = [];
      let token = "";
      do {
        const page = await c.listInstanceSets({ pageSize: 2, pageToken: token });
        expect(page.instanceSets.length).to.be.at.most(2);
        seen.push(...page.instanceSets.map((s) => s.id));
        token = page.nextPageToken;
      } while (token !== "");
      expect(new Set(seen).size).to.equal(seen.length);
      expect(seen.length).to.be.at.least(5);
      const bad = await failure(c.listInstanceSets({ pageToken: "garbage" }));
      expect(violatedFields(bad)).to.deep.equal(["page_token"]);
    });

    it("update: name, tags and group through the mask and etag; a stale etag, a student and a bad mask are refused", async () => {
      const id = await w.trainingSet("update-me");
      const [s1] = w.students;
      const c = await w.sets(w.teacher);
      await c.addInstanceSetMembers({
        instanceSetId: id,
        members: [{ userId: s1!.userId, role: InstanceSetRole.STUDENT }],
      });
      const read = (await c.getInstanceSet({ id })).instanceSet!;
      const group = await w.people.group(w.tenantA.id, "class-1", [s1!]);
      const res = await c.updateInstanceSet({
        instanceSet: { id, name: "updated", tags: { room: "301" }, userGroupId: group, etag: read.etag },
        updateMask: { paths: ["name", "tags", "user_group_id"] },
      });
      expect(res.instanceSet!.name).to.equal("updated");
      expect(res.instanceSet!.tags).to.deep.equal({ room: "301" });
      expect(res.instanceSet!.userGroupId).to.equal(group);
      expect(res.instanceSet!.etag).to.not.equal(read.etag);
      const stale = await failure(
        c.updateInstanceSet({ instanceSet: { id, name: "again", etag: read.etag }, updateMask: { paths: ["name"] } }),
      );
      expect(stale.code).to.equal(Code.Aborted);
      expect(errorReasons(stale)).to.include("ETAG_MISMATCH");
      const badMask = await failure(
        c.updateInstanceSet({
          instanceSet: { id, setType: InstanceSetType.CUSTOM },
          updateMask: { paths: ["set_type"] },
        }),
      );
      expect(violatedFields(badMask)).to.deep.equal(["update_mask"]);
      const student = await failure(
        (await w.sets(s1!)).updateInstanceSet({ instanceSet: { id, name: "mine" }, updateMask: { paths: ["name"] } }),
      );
      expect(student.code).to.equal(Code.PermissionDenied);
      expect((await c.getInstanceSet({ id })).instanceSet!.name).to.equal("updated");
    });

    it("status: archive ⇄ unarchive, delete from either; illegal moves are failed_precondition; a student cannot archive", async () => {
      const id = await w.trainingSet("lifecycle");
      const [s1] = w.students;
      const c = await w.sets(w.teacher);
      await c.addInstanceSetMembers({
        instanceSetId: id,
        members: [{ userId: s1!.userId, role: InstanceSetRole.STUDENT }],
      });
      expect((await failure((await w.sets(s1!)).archiveInstanceSet({ id }))).code).to.equal(Code.PermissionDenied);
      expect((await c.archiveInstanceSet({ id })).instanceSet!.status).to.equal(InstanceSetStatus.ARCHIVED);
      const twice = await failure(c.archiveInstanceSet({ id }));
      expect(twice.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(twice)).to.deep.equal(["ILLEGAL_INSTANCE_SET_TRANSITION"]);
      const archivedAdd = await failure(
        c.addInstanceSetMembers({
          instanceSetId: id,
          members: [{ userId: w.students[1]!.userId, role: InstanceSetRole.STUDENT }],
        }),
      );
      expect(errorReasons(archivedAdd)).to.deep.equal(["INSTANCE_SET_NOT_ACTIVE"]);
      expect((await c.unarchiveInstanceSet({ id })).instanceSet!.status).to.equal(InstanceSetStatus.ACTIVE);
      expect(errorReasons(await failure(c.unarchiveInstanceSet({ id })))).to.deep.equal([
        "ILLEGAL_INSTANCE_SET_TRANSITION",
      ]);
      const deleted = await c.deleteInstanceSet({ id });
      expect(deleted.instanceSet!.status).to.equal(InstanceSetStatus.DELETED);
      expect((await failure(c.getInstanceSet({ id }))).code).to.equal(Code.NotFound);
      expect((await failure(c.deleteInstanceSet({ id }))).code).to.equal(Code.NotFound);
      const live = await w.knex("instance_set_members").where({ instance_set_id: id }).whereNull("removed_at");
      expect(live).to.deep.equal([]);
      const audit = await w.knex("audit_log").where({ target_id: id }).orderBy("id").pluck("action");
      expect(audit).to.include.members(["instance_set.archive", "instance_set.unarchive", "instance_set.delete"]);
    });

    it("operators read but do not write (the method policy)", async () => {
      const op = await w.people.user("op", "operator", null);
      const c = await w.sets(op);
      const list = await c.listInstanceSets({});
      expect(list.instanceSets.length).to.be.greaterThan(0);
      const refused = await failure(
        c.createInstanceSet({ instanceSet: { name: "op", setType: InstanceSetType.CUSTOM } }),
      );
      expect(refused.code).to.equal(Code.PermissionDenied);
    });
  });
}
