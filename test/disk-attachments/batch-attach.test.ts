import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { DiskAttachmentOrigin, DiskMountMode } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { newId } from "../../hub/db/ids.js";
import { counts, failure } from "../catalog/catalog-fixtures.js";
import { errorReasons } from "../support/api-conventions.js";
import { selectedBackend } from "../support/test-database.js";
import { joinSharedAttachWorld, sharedAttachWorld, type AttachWorld } from "./attach-world.js";

// 000 §2.3 挂载私有数据盘 for instance sets: a teacher attaches one shared disk, read-only, to every
// instance of the set; each instance gets its own result, a refusal on one never undoes the others.
describe(`BatchAttachDiskToInstanceSet (${selectedBackend()})`, function () {
  let w: AttachWorld;
  joinSharedAttachWorld();
  let setId = "";
  let students: string[] = [];
  before(async () => {
    w = await sharedAttachWorld();
    students = await w.stoppedInstances(w.bob, 3);
    setId = newId();
    await w.knex("instance_sets").insert({
      id: setId,
      tenant_id: w.alice.tenantId,
      owner_id: w.alice.userId,
      name: "class",
      set_type: "training",
    });
    await w.knex("instance_set_members").insert([
      { id: newId(), instance_set_id: setId, user_id: w.alice.userId, role: "teacher" },
      { id: newId(), instance_set_id: setId, user_id: w.bob.userId, role: "student" },
    ]);
    await w
      .knex("instance_set_instances")
      .insert(students.map((id) => ({ id: newId(), instance_set_id: setId, instance_id: id, role: "student" })));
  });

  it("attaches a shared disk read-only to each instance while max_attachments allows, one result per instance", async () => {
    const disk = await w.disk(w.alice, { shareMode: "shared", maxAttachments: 2, name: "course-material" });
    const { results } = await w.disks(w.alice).batchAttachDiskToInstanceSet({ diskId: disk, instanceSetId: setId });
    expect(results.map((r) => r.instanceId)).to.deep.equal([...students].sort());
    const ok = results.filter((r) => r.attachment);
    expect(ok).to.have.length(2);
    for (const r of ok)
      expect(r.attachment).to.include({
        mountMode: DiskMountMode.RO,
        origin: DiskAttachmentOrigin.BATCH,
        mountPath: "/mnt/data1",
      });
    const refused = results.filter((r) => !r.attachment);
    expect(refused.map((r) => r.errorReason)).to.deep.equal(["MAX_ATTACHMENTS_REACHED"]);
    expect(refused[0]!.error).to.match(/max_attachments/);
    expect(await w.diskRow(disk)).to.deep.equal({ status: "attached", attachment_count: 2 });

    // Again: the two attached answer ALREADY_ATTACHED, the third is still refused; nothing changes.
    const again = await w.disks(w.alice).batchAttachDiskToInstanceSet({ diskId: disk, instanceSetId: setId });
    expect(again.results.map((r) => r.errorReason).sort()).to.deep.equal([
      "ALREADY_ATTACHED",
      "ALREADY_ATTACHED",
      "MAX_ATTACHMENTS_REACHED",
    ]);
    expect(await w.diskRow(disk)).to.deep.equal({ status: "attached", attachment_count: 2 });
  });

  it("refuses an exclusive disk and a student caller, changing nothing", async () => {
    const tables = ["instance_private_data_disk_attachments", "audit_log"];
    const before = await counts(w.knex, tables);
    const exclusive = await w.disk(w.alice);
    const err = await failure(
      w.disks(w.alice).batchAttachDiskToInstanceSet({ diskId: exclusive, instanceSetId: setId }),
    );
    expect(err.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(err)).to.include("DISK_NOT_SHARED");
    const bobsShared = await w.disk(w.bob, { shareMode: "shared", maxAttachments: 5 });
    const student = await failure(
      w.disks(w.bob).batchAttachDiskToInstanceSet({ diskId: bobsShared, instanceSetId: setId }),
    );
    expect(student.code).to.equal(Code.PermissionDenied);
    expect(await counts(w.knex, tables)).to.deep.equal(before);
  });
});
