import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { InstanceStatus, InstanceDesiredState, RentalMode } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { violatedFields } from "../support/api-conventions.js";
import { failure } from "../catalog/catalog-fixtures.js";
import { seedMachines, seedPool } from "../scheduler/fleet-seed.js";
import type { SetWorld } from "./set-world.js";

// The batch verbs' API answers: placement, quota and transitions are the real ones (the scheduler
// places into seeded machines); no agent runs here, so instances stay initializing / stopping —
// batch-agent.test.ts drives them to running and stopped with a real compute agent.

export function batchVerbs(w: SetWorld): void {
  describe("InstanceSetService batch verbs: per-instance results (000 §2.3 批量操作)", function () {
    let pool: { poolId: string; dataCenterId: string };
    let setId = "";
    let ids: string[] = [];
    before(async () => {
      pool = await seedPool(w.knex);
      // Room for three 1-CPU instances, not for the 16-CPU one.
      await seedMachines(w.knex, pool, 1, { cpuCores: 3, memoryGb: 8, storageGb: 100 });
      setId = await w.trainingSet("verbs");
      const res = await (
        await w.sets(w.teacher)
      ).batchCreateInstances({
        instanceSetId: setId,
        teacherInstance: { spec: w.spec({ cpuCores: 16 }) },
        studentSpec: w.spec(),
        students: w.students.slice(0, 3).map((s) => ({ userId: s.userId })),
      });
      expect(res.createdCount).to.equal(4);
      ids = res.results.map((r) => r.instance!.instanceId);
    });

    it("BatchStartInstances places each instance it can; the one that fits nowhere fails alone with NO_CAPACITY", async () => {
      const res = await (
        await w.sets(w.teacher)
      ).batchStartInstances({ instanceSetId: setId, computePoolId: pool.poolId });
      const byId = new Map(res.results.map((r) => [r.instanceId, r]));
      expect([...byId.keys()]).to.have.members(ids);
      const [big, ...small] = ids;
      expect(byId.get(big!)!.error!.code).to.equal("resource_exhausted");
      expect(byId.get(big!)!.error!.reason).to.equal("NO_CAPACITY");
      for (const id of small) {
        const r = byId.get(id)!;
        expect(r.error, r.error?.message).to.equal(undefined);
        expect(r.instance!.status).to.equal(InstanceStatus.INITIALIZING);
        expect(r.instance!.desiredState).to.equal(InstanceDesiredState.RUNNING);
        expect(r.instance!.computeMachineId).to.not.equal("");
      }
      const initializing = await (
        await w.sets(w.teacher)
      ).listInstanceSetInstances({ instanceSetId: setId, status: InstanceStatus.INITIALIZING });
      expect(initializing.instances.map((i) => i.instanceId)).to.have.members(small);
      const badStatus = await failure(
        (await w.sets(w.teacher)).listInstanceSetInstances({ instanceSetId: setId, status: 99 as InstanceStatus }),
      );
      expect(violatedFields(badStatus)).to.deep.equal(["status"]);
      const audit = await w
        .knex("audit_log")
        .where({ action: "instance.start" })
        .whereIn("target_id", small)
        .pluck("actor_user_id");
      expect(audit).to.deep.equal([w.teacher.userId, w.teacher.userId, w.teacher.userId]);
    });

    it("a second start is refused per instance (already initializing), an id outside the set is not_found for that item", async () => {
      const outside = (
        await (
          await w.instances(w.students[3]!)
        ).createInstance({
          instance: { name: "not-in-set", cpuCores: 1, memoryGb: 1, storageGb: 10 },
          imageId: w.imageId,
        })
      ).instance!.id;
      const res = await (
        await w.sets(w.teacher)
      ).batchStartInstances({ instanceSetId: setId, instanceIds: [ids[1]!, outside] });
      expect(res.results.map((r) => [r.instanceId, r.error?.reason || r.error?.code])).to.deep.equal([
        [ids[1], "ILLEGAL_INSTANCE_TRANSITION"],
        [outside, "not_found"],
      ]);
      const stillStopped = (await (await w.instances(w.students[3]!)).getInstance({ id: outside })).instance!;
      expect(stillStopped.status).to.equal(InstanceStatus.STOPPED);
    });

    it("BatchStopInstances and BatchRestartInstances answer per instance; BatchDeleteInstances deletes what is stopped", async () => {
      const c = await w.sets(w.teacher);
      const stop = await c.batchStopInstances({ instanceSetId: setId });
      const byId = new Map(stop.results.map((r) => [r.instanceId, r]));
      expect(byId.get(ids[0]!)!.error!.reason).to.equal("ILLEGAL_INSTANCE_TRANSITION"); // never started
      for (const id of ids.slice(1)) {
        expect(byId.get(id)!.instance!.status).to.equal(InstanceStatus.STOPPING);
        expect(byId.get(id)!.instance!.desiredState).to.equal(InstanceDesiredState.STOPPED);
      }
      const restart = await c.batchRestartInstances({ instanceSetId: setId, instanceIds: [ids[1]!] });
      expect(restart.results[0]!.error!.reason).to.equal("INSTANCE_NOT_RUNNING");
      const del = await c.batchDeleteInstances({ instanceSetId: setId, instanceIds: [ids[0]!] });
      expect(del.results[0]!.instance!.status).to.equal(InstanceStatus.DELETED);
      const listed = await c.listInstanceSetInstances({ instanceSetId: setId });
      expect(listed.instances.map((i) => i.instanceId)).to.not.include(ids[0]);
    });

    it("refuses bad batch requests whole: malformed or repeated ids, an unknown rental mode", async () => {
      const c = await w.sets(w.teacher);
      expect(
        violatedFields(await failure(c.batchStopInstances({ instanceSetId: setId, instanceIds: ["x"] }))),
      ).to.deep.equal(["instance_ids[0]"]);
      expect(
        violatedFields(await failure(c.batchStopInstances({ instanceSetId: setId, instanceIds: [ids[1]!, ids[1]!] }))),
      ).to.deep.equal(["instance_ids[1]"]);
      expect(
        violatedFields(await failure(c.batchStartInstances({ instanceSetId: setId, rentalMode: 9 as RentalMode }))),
      ).to.deep.equal(["rental_mode"]);
      expect((await failure(c.batchStopInstances({ instanceSetId: "" }))).code).to.equal(Code.InvalidArgument);
      // A tenant admin drives the set without being a member; another tenant's user does not see it.
      const ta = await (
        await w.sets(w.tenantAdmin)
      ).batchRestartInstances({ instanceSetId: setId, instanceIds: [ids[2]!] });
      expect(ta.results[0]!.error!.reason).to.equal("INSTANCE_NOT_RUNNING");
      expect((await failure((await w.sets(w.outsider)).batchStopInstances({ instanceSetId: setId }))).code).to.equal(
        Code.NotFound,
      );
    });
  });
}
