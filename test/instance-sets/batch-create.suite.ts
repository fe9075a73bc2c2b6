import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { InstanceStatus } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { InstanceSetRole } from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import { QuotaDimension, QuotaHolderType } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
import { counts, failure } from "../catalog/catalog-fixtures.js";
import type { SetWorld } from "./set-world.js";

export function batchCreate(w: SetWorld): void {
  describe("InstanceSetService.BatchCreateInstances: a teacher and 30 students (000 §2.3, §2.5.1, §2.5.4)", function () {
    it("creates the teacher's and 29 students' instances; the student over quota fails alone with the reason; each is charged to its own user", async () => {
      const id = await w.trainingSet("Java开发实训课程");
      const poor = w.students[17]!;
      await w.setUserQuota(poor, { max_instances: 0 });
      const c = await w.sets(w.teacher);
      const res = await c.batchCreateInstances({
        instanceSetId: id,
        teacherInstance: { name: "老师实例", spec: w.spec({ cpuCores: 2, memoryGb: 4, storageGb: 20 }) },
        studentSpec: w.spec(),
        students: w.students.map((s, i) => ({ userId: s.userId, name: i === 0 ? "学生1实例" : "" })),
      });
      expect(res.results).to.have.length(31);
      expect(res.createdCount).to.equal(30);
      expect(res.failedCount).to.equal(1);

      const [teacherResult, ...studentResults] = res.results;
      expect(teacherResult!.role).to.equal(InstanceSetRole.TEACHER);
      expect(teacherResult!.userId).to.equal(w.teacher.userId);
      expect(teacherResult!.instance!.cpuCores).to.equal(2);
      expect(teacherResult!.instance!.name).to.equal("老师实例");
      expect(studentResults.map((r) => r.userId)).to.deep.equal(w.students.map((s) => s.userId));
      expect(studentResults[0]!.instance!.name).to.equal("学生1实例");
      expect(studentResults[1]!.instance!.name).to.equal("Java开发实训课程-student2");

      const failed = studentResults[17]!;
      expect(failed.instance).to.equal(undefined);
      expect(failed.error!.code).to.equal("resource_exhausted");
      expect(failed.error!.reason).to.equal("QUOTA_EXCEEDED");
      expect(
        failed.error!.quotaExceeded!.dimensions.map((d) => [d.dimension, d.holderType, d.holderId, d.limit]),
      ).to.deep.equal([[QuotaDimension.INSTANCES, QuotaHolderType.USER, poor.userId, 0]]);
      for (const [i, r] of studentResults.entries()) {
        if (i === 17) continue;
        expect(r.role).to.equal(InstanceSetRole.STUDENT);
        expect(r.instance!.status).to.equal(InstanceStatus.STOPPED);
        expect(r.instance!.userId, `student ${i + 1}'s instance is theirs`).to.equal(w.students[i]!.userId);
      }

      // Quota: each instance is one row of the ledger, charged to its owner (the student), none to the teacher but its own.
      const ledger = (await w
        .knex("quota_consumers as q")
        .join("instance_set_instances as l", "l.instance_id", "q.consumer_id")
        .where("l.instance_set_id", id)
        .select("q.user_id", "q.occ_instances", "q.occ_storage_gb")) as { user_id: string; occ_instances: number }[];
      expect(ledger).to.have.length(30);
      const byUser = new Map(ledger.map((r) => [r.user_id, Number(r.occ_instances)]));
      expect([...byUser.keys()]).to.have.members([
        w.teacher.userId,
        ...w.students.filter((s) => s !== poor).map((s) => s.userId),
      ]);
      expect([...byUser.values()].every((n) => n === 1)).to.equal(true);
      expect(await w.knex("instances").where({ user_id: poor.userId })).to.deep.equal([]);

      // Students joined as members; the over-quota one too? No: its item rolled back whole.
      const members = await c.listInstanceSetMembers({ instanceSetId: id, pageSize: 100 });
      expect(members.members).to.have.length(30);
      expect(members.members.map((m) => m.userId)).to.not.include(poor.userId);

      // Audited per instance, in the item's own transaction.
      const instanceIds = res.results.filter((r) => r.instance).map((r) => r.instance!.instanceId);
      const created = await w
        .knex("audit_log")
        .where({ action: "instance.create" })
        .whereIn("target_id", instanceIds)
        .pluck("actor_user_id");
      expect(created).to.deep.equal(Array(30).fill(w.teacher.userId));
      const linked = await w
        .knex("audit_log")
        .where({ action: "instance_set.add_instance", target_id: id })
        .count<{ n: number }[]>({ n: "*" });
      expect(Number(linked[0]!.n)).to.equal(30);

      // With its quota raised, the student's instance is created by a second batch of one.
      await w.setUserQuota(poor, { max_instances: 1 });
      const retry = await c.batchCreateInstances({
        instanceSetId: id,
        studentSpec: w.spec(),
        students: [{ userId: poor.userId }],
      });
      expect(retry.createdCount).to.equal(1);
      expect(retry.results[0]!.instance!.userId).to.equal(poor.userId);
    });

    it("a student sees only its own instance; a teacher sees all; the web view lists sets with role and reachable instances", async () => {
      const id = await w.trainingSet("who-sees-what");
      const [s1, s2, s3] = w.students;
      const created = await (
        await w.sets(w.teacher)
      ).batchCreateInstances({
        instanceSetId: id,
        teacherInstance: { spec: w.spec() },
        studentSpec: w.spec(),
        students: [s1!, s2!, s3!].map((s) => ({ userId: s.userId })),
      });
      const [teacherId, i1, i2] = created.results.map((r) => r.instance!.instanceId);

      const asS1 = await w.sets(s1!);
      const own = await asS1.listInstanceSetInstances({ instanceSetId: id });
      expect(own.instances.map((i) => i.instanceId)).to.deep.equal([i1]);
      const all = await (await w.sets(w.teacher)).listInstanceSetInstances({ instanceSetId: id });
      expect(all.instances).to.have.length(4);
      expect(all.instances.find((i) => i.instanceId === teacherId)!.role).to.equal(InstanceSetRole.TEACHER);

      // Through InstanceService: a classmate's instance is not_found for a student, visible to the teacher.
      expect((await failure((await w.instances(s1!)).getInstance({ id: i2! }))).code).to.equal(Code.NotFound);
      expect((await failure((await w.instances(s1!)).stopInstance({ id: i2! }))).code).to.equal(Code.NotFound);
      expect((await (await w.instances(w.teacher)).getInstance({ id: i2! })).instance!.userId).to.equal(s2!.userId);
      // A teacher of another set does not reach them.
      expect((await failure((await w.instances(w.teacher2)).getInstance({ id: i2! }))).code).to.equal(Code.NotFound);
      expect((await failure((await w.sets(w.teacher2)).listInstanceSetInstances({ instanceSetId: id }))).code).to.equal(
        Code.NotFound,
      );

      const mySets = await asS1.listMyInstanceSets({});
      const view = mySets.instanceSets.find((v) => v.instanceSet!.id === id)!;
      expect(view.role).to.equal(InstanceSetRole.STUDENT);
      expect(view.instances.map((i) => [i.instanceId, i.role])).to.deep.equal([[i1, InstanceSetRole.STUDENT]]);
      const teacherView = (await (await w.sets(w.teacher)).listMyInstanceSets({})).instanceSets.find(
        (v) => v.instanceSet!.id === id,
      )!;
      expect(teacherView.role).to.equal(InstanceSetRole.TEACHER);
      expect(teacherView.instances).to.have.length(4);
      expect(
        (await (await w.sets(w.teacher2)).listMyInstanceSets({})).instanceSets.map((v) => v.instanceSet!.id),
      ).to.not.include(id);

      // A student drives its own instance (a console ticket is refused for its state, not for access)
      // but does not delete, resize or rename it: the set's teacher does (000 §2.5.4).
      const mine = await w.instances(s1!);
      const ticket = await failure(mine.createConsoleTicket({ id: i1! }));
      expect(errorReasons(ticket)).to.deep.equal(["INSTANCE_NOT_RUNNING"]);
      for (const refused of [
        mine.deleteInstance({ id: i1! }),
        mine.resizeInstance({ id: i1!, cpuCores: 2 }),
        mine.updateInstance({ instance: { id: i1!, name: "renamed" }, updateMask: { paths: ["name"] } }),
      ])
        expect((await failure(refused)).code).to.equal(Code.PermissionDenied);
      const renamed = await (
        await w.instances(w.teacher)
      ).updateInstance({ instance: { id: i1!, name: "seat-1" }, updateMask: { paths: ["name"] } });
      expect(renamed.instance!.name).to.equal("seat-1");
      expect((await mine.getInstance({ id: i1! })).instance!.status).to.equal(InstanceStatus.STOPPED);

      // A student cannot batch-operate, not even over its own instance.
      const stop = await failure(asS1.batchStopInstances({ instanceSetId: id, instanceIds: [i1!] }));
      expect(stop.code).to.equal(Code.PermissionDenied);
      const make = await failure(
        asS1.batchCreateInstances({ instanceSetId: id, studentSpec: w.spec(), students: [{ userId: s1!.userId }] }),
      );
      expect(make.code).to.equal(Code.PermissionDenied);
    });

    it("refuses bad batches whole and precisely: duplicates, no spec, zero sizes, an unknown image, a non-member teacher, an archived set", async () => {
      const id = await w.trainingSet("refusals");
      const c = await w.sets(w.teacher);
      const [s1, s2] = w.students;
      const before = await counts(w.knex, [
        "instances",
        "instance_set_members",
        "instance_set_instances",
        "quota_consumers",
      ]);
      const dup = await failure(
        c.batchCreateInstances({
          instanceSetId: id,
          studentSpec: w.spec(),
          students: [{ userId: s1!.userId }, { userId: s1!.userId }],
        }),
      );
      expect(violatedFields(dup)).to.deep.equal(["students[1].user_id"]);
      const noSpec = await failure(c.batchCreateInstances({ instanceSetId: id, students: [{ userId: s1!.userId }] }));
      expect(violatedFields(noSpec)).to.deep.equal(["student_spec"]);
      const zero = await failure(
        c.batchCreateInstances({
          instanceSetId: id,
          studentSpec: w.spec({ cpuCores: 0 }),
          students: [{ userId: s1!.userId }],
        }),
      );
      expect(violatedFields(zero)).to.deep.equal(["student_spec.cpu_cores"]);
      const both = await failure(
        c.batchCreateInstances({
          instanceSetId: id,
          studentSpec: w.spec({ templateId: "0193a0f0-0000-7000-8000-000000000000" }),
          students: [{ userId: s1!.userId }],
        }),
      );
      expect(violatedFields(both)).to.deep.equal(["student_spec.template_id"]);
      const unknownImage = await failure(
        c.batchCreateInstances({
          instanceSetId: id,
          studentSpec: w.spec({ imageId: "0193a0f0-0000-7000-8000-000000000000" }),
          students: [{ userId: s1!.userId }],
        }),
      );
      expect(unknownImage.code).to.equal(Code.NotFound);
      const nothing = await failure(c.batchCreateInstances({ instanceSetId: id }));
      expect(violatedFields(nothing)).to.deep.equal(["students"]);
      const stranger = await failure(
        (await w.sets(w.teacher2)).batchCreateInstances({
          instanceSetId: id,
          studentSpec: w.spec(),
          students: [{ userId: s1!.userId }],
        }),
      );
      expect(stranger.code).to.equal(Code.NotFound);
      expect(
        await counts(w.knex, ["instances", "instance_set_members", "instance_set_instances", "quota_consumers"]),
      ).to.deep.equal(before);

      // Per item: another tenant's user, and a student named as the teacher, fail alone.
      await c.addInstanceSetMembers({
        instanceSetId: id,
        members: [{ userId: s2!.userId, role: InstanceSetRole.STUDENT }],
      });
      const mixed = await c.batchCreateInstances({
        instanceSetId: id,
        teacherInstance: { userId: s2!.userId, spec: w.spec() },
        studentSpec: w.spec(),
        students: [{ userId: w.outsider.userId }, { userId: s1!.userId }],
      });
      expect(mixed.results.map((r) => r.error?.reason || r.error?.code || "created")).to.deep.equal([
        "MEMBER_ROLE_MISMATCH",
        "not_found",
        "created",
      ]);

      await c.archiveInstanceSet({ id });
      const archived = await failure(
        c.batchCreateInstances({ instanceSetId: id, studentSpec: w.spec(), students: [{ userId: s2!.userId }] }),
      );
      expect(archived.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(archived)).to.deep.equal(["INSTANCE_SET_NOT_ACTIVE"]);
    });

    it("takes the students from the set's user group (000 §2.5.1), leaving out the listed ones and the teacher", async () => {
      const c = await w.sets(w.teacher);
      const id = await w.trainingSet("roster");
      const none = await failure(
        c.batchCreateInstances({ instanceSetId: id, studentSpec: w.spec(), studentsFromUserGroup: true }),
      );
      expect(errorReasons(none)).to.deep.equal(["SET_HAS_NO_USER_GROUP"]);
      const roster = w.students.slice(20, 24);
      const group = await w.people.group(w.tenantA.id, "class-roster", [w.teacher, ...roster]);
      await c.updateInstanceSet({ instanceSet: { id, userGroupId: group }, updateMask: { paths: ["user_group_id"] } });
      const res = await c.batchCreateInstances({
        instanceSetId: id,
        studentSpec: w.spec(),
        students: [{ userId: roster[2]!.userId, name: "listed" }],
        studentsFromUserGroup: true,
      });
      const fromGroup = [roster[0]!, roster[1]!, roster[3]!].map((s) => s.userId).sort();
      expect(res.results.map((r) => r.userId)).to.deep.equal([roster[2]!.userId, ...fromGroup]);
      expect(res.createdCount).to.equal(4);
      expect(res.results.every((r) => r.role === InstanceSetRole.STUDENT)).to.equal(true);
    });

    it("links existing instances of members (at most one set each) and unlinks them without deleting", async () => {
      const a = await w.trainingSet("link-a");
      const b = await w.trainingSet("link-b");
      const s = w.students[5]!;
      const c = await w.sets(w.teacher);
      const { instance } = await (
        await w.instances(s)
      ).createInstance({
        instance: { name: "own", cpuCores: 1, memoryGb: 1, storageGb: 10 },
        imageId: w.imageId,
      });
      const notMember = await c.addInstanceSetInstances({
        instanceSetId: a,
        instances: [{ instanceId: instance!.id }],
      });
      expect(notMember.results[0]!.error!.reason).to.equal("OWNER_NOT_MEMBER");
      for (const set of [a, b])
        await c.addInstanceSetMembers({
          instanceSetId: set,
          members: [{ userId: s.userId, role: InstanceSetRole.STUDENT }],
        });
      const added = await c.addInstanceSetInstances({ instanceSetId: a, instances: [{ instanceId: instance!.id }] });
      expect(added.results[0]!.instance!.role).to.equal(InstanceSetRole.STUDENT);
      const again = await c.addInstanceSetInstances({ instanceSetId: a, instances: [{ instanceId: instance!.id }] });
      expect(again.results[0]!.error!.code).to.equal("already_exists");
      const other = await c.addInstanceSetInstances({ instanceSetId: b, instances: [{ instanceId: instance!.id }] });
      expect(other.results[0]!.error!.reason).to.equal("INSTANCE_IN_ANOTHER_SET");
      const removed = await c.removeInstanceSetInstances({ instanceSetId: a, instanceIds: [instance!.id] });
      expect(removed.results[0]!.error).to.equal(undefined);
      expect((await (await w.instances(s)).getInstance({ id: instance!.id })).instance!.id).to.equal(instance!.id);
      const moved = await c.addInstanceSetInstances({ instanceSetId: b, instances: [{ instanceId: instance!.id }] });
      expect(moved.results[0]!.instance!.instanceSetId).to.equal(b);
      // Deleting the set ends the link, never the instance (000 §2.2).
      await c.deleteInstanceSet({ id: b });
      expect((await (await w.instances(s)).getInstance({ id: instance!.id })).instance!.status).to.equal(
        InstanceStatus.STOPPED,
      );
      expect(
        await w.knex("instance_set_instances").where({ instance_id: instance!.id }).whereNull("removed_at"),
      ).to.deep.equal([]);
    });
  });
}
