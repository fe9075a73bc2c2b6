import { expect } from "chai";
import { listReachableInstances } from "../../hub/instance-sets/reachable-instances.js";
import { SetWorld } from "./set-world.js";

// What the cloud box login path (000 §2.5.2 B) offers a user: its own instances and, as a teacher,
// every instance of its active sets; never a classmate's.

describe("listReachableInstances (000 §2.5.2 B, §2.5.4)", function () {
  this.timeout(120_000);
  const w = new SetWorld(3);
  let setId = "";
  let ids: { teacher: string; s1: string; s2: string; loose: string };
  before(async () => {
    await w.start();
    setId = await w.trainingSet("reach");
    const res = await (
      await w.sets(w.teacher)
    ).batchCreateInstances({
      instanceSetId: setId,
      teacherInstance: { spec: w.spec() },
      studentSpec: w.spec(),
      students: [w.students[0]!, w.students[1]!].map((s) => ({ userId: s.userId })),
    });
    const [teacher, s1, s2] = res.results.map((r) => r.instance!.instanceId);
    const loose = (
      await (
        await w.instances(w.students[0]!)
      ).createInstance({
        instance: { name: "homework", cpuCores: 1, memoryGb: 1, storageGb: 10 },
        imageId: w.imageId,
      })
    ).instance!.id;
    ids = { teacher: teacher!, s1: s1!, s2: s2!, loose };
  });
  after(() => w.stop());

  it("a teacher reaches its own instance and every instance of its set, with the roles", async () => {
    const r = await listReachableInstances(w.knex, w.teacher.userId);
    expect(r.map((i) => i.instanceId)).to.have.members([ids.teacher, ids.s1, ids.s2]);
    const s1 = r.find((i) => i.instanceId === ids.s1)!;
    expect(s1.owned).to.equal(false);
    expect(s1.ownerId).to.equal(w.students[0]!.userId);
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
    const r = await listReachableInstances(w.knex, w.students[0]!.userId);
    expect(r.map((i) => i.instanceId)).to.have.members([ids.s1, ids.loose]);
    expect(r.find((i) => i.instanceId === ids.s1)!.instanceSet!.memberRole).to.equal("student");
    expect(r.find((i) => i.instanceId === ids.loose)!.instanceSet).to.equal(null);
    expect((await listReachableInstances(w.knex, w.students[2]!.userId)).map((i) => i.instanceId)).to.deep.equal([]);
    expect((await listReachableInstances(w.knex, w.teacher2.userId)).map((i) => i.instanceId)).to.deep.equal([]);
  });

  it("an archived set gives no reach through it; owners keep their own instances", async () => {
    await (await w.sets(w.teacher)).archiveInstanceSet({ id: setId });
    const teacher = await listReachableInstances(w.knex, w.teacher.userId);
    expect(teacher.map((i) => i.instanceId)).to.deep.equal([ids.teacher]);
    const student = await listReachableInstances(w.knex, w.students[1]!.userId);
    expect(student.map((i) => [i.instanceId, i.instanceSet])).to.deep.equal([[ids.s2, null]]);
    await (await w.sets(w.teacher)).unarchiveInstanceSet({ id: setId });
    expect(await listReachableInstances(w.knex, w.teacher.userId)).to.have.length(3);
  });
});
