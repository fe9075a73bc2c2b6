import { expect } from "chai";
import { ConnectError } from "@connectrpc/connect";
import { InstanceSetRole } from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import type { SetWorld } from "./set-world.js";

// Concurrent batches that all include one student (the same set and different sets): the quota
// ledger locks the holders in each item's transaction, so the student never gets more instances
// than its quota allows, whatever the interleaving (real concurrency on PostgreSQL).

export function batchCreateRace(w: SetWorld): void {
  describe("InstanceSetService.BatchCreateInstances under concurrency: a student's quota holds", function () {
    it("eight concurrent batches naming the same student create exactly its quota of 2; the rest fail with QUOTA_EXCEEDED", async () => {
      const target = await w.people.user("racer", "user", w.tenantA);
      await w.setUserQuota(target, { max_instances: 2 });
      const shared = await w.trainingSet("race-shared");
      const own = await w.trainingSet("race-own");
      const c = await w.sets(w.teacher);
      const calls = Array.from({ length: 8 }, (_, i) =>
        c.batchCreateInstances({
          instanceSetId: i % 2 === 0 ? shared : own,
          studentSpec: w.spec(),
          // The target plus one other student each time, so every batch also has work that must succeed.
          students: [{ userId: target.userId }, { userId: w.students[1 + (i % 5)]!.userId, name: `other-${i}` }],
        }),
      );
      const results = (await Promise.all(calls)).flatMap((r) => r.results);
      const forTarget = results.filter((r) => r.userId === target.userId);
      expect(forTarget.filter((r) => r.instance)).to.have.length(2);
      const refused = forTarget.filter((r) => r.error);
      expect(refused).to.have.length(6);
      expect(refused.map((r) => r.error!.reason)).to.deep.equal(Array(6).fill("QUOTA_EXCEEDED"));
      expect(results.filter((r) => r.userId !== target.userId).every((r) => r.instance)).to.equal(true);

      const owned = await w.knex("instances").where({ user_id: target.userId }).whereNull("deleted_at");
      expect(owned).to.have.length(2);
      const ledger = await w
        .knex("quota_consumers")
        .where({ user_id: target.userId })
        .sum<{ n: number }[]>({ n: "occ_instances" });
      expect(Number(ledger[0]!.n)).to.equal(2);
      // One live membership per set, however many batches added the student at once.
      for (const set of [shared, own]) {
        const members = await w
          .knex("instance_set_members")
          .where({ instance_set_id: set, user_id: target.userId })
          .whereNull("removed_at");
        expect(members.length, `memberships of the target in ${set}`).to.equal(1);
        expect(members[0]!.role).to.equal("student");
      }
      const viaApi = await c.listInstanceSetMembers({ instanceSetId: shared });
      expect(viaApi.members.find((m) => m.userId === target.userId)!.role).to.equal(InstanceSetRole.STUDENT);
    });

    it("an archive racing a batch: every instance is created before it or refused after it, never in an archived set", async () => {
      const set = await w.trainingSet("race-archive");
      const c = await w.sets(w.teacher);
      const batch = c.batchCreateInstances({
        instanceSetId: set,
        studentSpec: w.spec(),
        students: w.students.slice(1, 9).map((s) => ({ userId: s.userId })),
      });
      const archive = c.archiveInstanceSet({ id: set });
      const [settled] = await Promise.allSettled([batch, archive]);
      await archive;
      const archivedAt = (
        await w.knex("audit_log").where({ action: "instance_set.archive", target_id: set }).first("id")
      ).id as string;
      const linkAudits = (await w
        .knex("audit_log")
        .where({ action: "instance_set.add_instance", target_id: set })
        .pluck("id")) as string[];
      // Audit ids are v7 UUIDs written in each transaction: every link committed before the archive did.
      expect(linkAudits.every((id) => id < archivedAt)).to.equal(true);
      if (settled!.status === "rejected") {
        // The archive won before the batch began: refused whole, nothing linked.
        expect(ConnectError.from(settled!.reason).rawMessage).to.contain("archived");
        expect(linkAudits).to.deep.equal([]);
        return;
      }
      const res = settled!.value;
      const created = res.results.filter((r) => r.instance).length;
      expect(linkAudits).to.have.length(created);
      for (const r of res.results.filter((r) => r.error)) expect(r.error!.reason).to.equal("INSTANCE_SET_NOT_ACTIVE");
    });
  });
}
