import { expect } from "chai";
import { listReachableInstances } from "../../hub/instance-sets/reachable-instances.js";
import type { TestUser } from "../catalog/catalog-fixtures.js";
import type { SetWorld } from "./set-world.js";

// What the cloud box login path (000 §2.5.2 B) offers a user: its own instances and, as a teacher,
// every instance of its active sets; never a classmate's.

export function reachableInstances(w: SetWorld): void {
  describe("listReachableInstances (000 §2.5.2 B, §2.5.4)", function () {
    let setId = "";
    let teacher: TestUser;
    let students: TestUser[];
    let stranger: TestUser;
    let ids: { teacher: string; s1: string; s2: string; loose: string };
    before(async () => {
      // People of their own: the other suites' sets and instances are not theirs to reach.
      teacher = await w.people.user("reach-teacher", "user", w.tenantA);
      stranger = await w.people.user("reach-stranger", "user", w.tenantA);
      students = [];
      for (const n of [1, 2, 3]) students.push(await w.people.user(`reach-student${n}`, "user", w.tenantA));
      setId = await w.trainingSet("reach", teacher);
      const res = await (
        await w.sets(teacher)
      ).batchCreateInstances({
        instanceSetId: setId,
        teacherInstance: { spec: w.spec() },
        studentSpec: w.spec(),
        students: [students[0]!, students[1]!].map((s) => ({ userId: s.userId })),
      });
      const [lead, s1, s2] = res.results.map((r) => r.instance!.instanceId);
      const loose = (
        await (
          await w.instances(students[0]!)
        ).createInstance({
          instance: { name: "homework", cpuCores: 1, memoryGb: 1, storageGb: 10 },
          imageId: w.imageId,
        })
      ).instance!.id;
      ids = { teacher: lead!, s1: s1!, s2: s2!, loose };
    });

    it("a teacher reaches its own instance and every instance of its set, with the roles", async () => {
      const r = await listReachableInstances(w.knex, teacher.userId);
      expect(r.map((i) => i.instanceId)).to.have.members([ids.teacher, ids.s1, ids.s2]);
      const s1 = r.find((i) => i.instanceId === ids.s1)!;
      expect(s1.owned).to.equal(false);
      expect(s1.ownerId).to.equal(students[0]!.userId);
      expect(s1.instanceSet).to.deep.include({
        id: setId,
        name: "reach",
        setType: "training",
        memberRole: "teacher",
        instanceRole: "student",
      });
      expect(r.find((i) => i.instanceId === ids.teacher)!.owned).to.equal(true);
    });

    it("a student reaches its own instances (in the set and outside it) and never a classmate's", async () => {
      const r = await listReachableInstances(w.knex, students[0]!.userId);
      expect(r.map((i) => i.instanceId)).to.have.members([ids.s1, ids.loose]);
      expect(r.find((i) => i.instanceId === ids.s1)!.instanceSet!.memberRole).to.equal("student");
      expect(r.find((i) => i.instanceId === ids.loose)!.instanceSet).to.equal(null);
      expect((await listReachableInstances(w.knex, students[2]!.userId)).map((i) => i.instanceId)).to.deep.equal([]);
      expect((await listReachableInstances(w.knex, stranger.userId)).map((i) => i.instanceId)).to.deep.equal([]);
    });

    it("an archived set gives no reach through it; owners keep their own instances", async () => {
      await (await w.sets(teacher)).archiveInstanceSet({ id: setId });
      const reached = await listReachableInstances(w.knex, teacher.userId);
      expect(reached.map((i) => i.instanceId)).to.deep.equal([ids.teacher]);
      const student = await listReachableInstances(w.knex, students[1]!.userId);
      expect(student.map((i) => [i.instanceId, i.instanceSet])).to.deep.equal([[ids.s2, null]]);
      await (await w.sets(teacher)).unarchiveInstanceSet({ id: setId });
      expect(await listReachableInstances(w.knex, teacher.userId)).to.have.length(3);
    });
  });
}
