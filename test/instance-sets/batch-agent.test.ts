import { expect } from "chai";
import { InstanceStatus } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { InstanceSetService, InstanceSetType } from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import { libvirtTestDriverUsable } from "../support/libvirt-backends.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import { CatalogPeople, PASSWORD } from "../catalog/catalog-fixtures.js";
import { startTestDriverWorld, stopTestDriverWorld, type AgentWorld } from "../instances/agent-world.js";

// A teacher's batch verbs end to end: a real hub, a real compute agent process on libvirt's
// test:///default driver; the set's instances reach running and stopped on the agent's reports.

describe("instance set batch start/stop on a real compute agent (libvirt test:///default)", function () {
  this.timeout(300_000);
  let dir = "";
  let w: AgentWorld;

  before(async function () {
    skipUnlessBackend(this, libvirtTestDriverUsable(), "libvirt.so.0 and qemu-img (apt install libvirt0 qemu-utils)");
    ({ w, dir } = await startTestDriverWorld("set-agent"));
  });
  after(async () => {
    await stopTestDriverWorld(w, dir);
  });

  it("BatchStartInstances → every instance running; BatchStopInstances → every instance stopped, allocations back to zero", async () => {
    const people = new CatalogPeople(w.knex);
    const tenant = (await w.knex("tenants").where({ name: "tenant-a" }).first("id", "name")) as {
      id: string;
      name: string;
    };
    await people.user("teacher", "user", tenant);
    const students = [await people.user("s1", "user", tenant), await people.user("s2", "user", tenant)];
    const sets = w.t.client(InstanceSetService, await w.t.login("teacher", PASSWORD, "tenant-a"));
    const setId = (await sets.createInstanceSet({ instanceSet: { name: "lab", setType: InstanceSetType.TRAINING } }))
      .instanceSet!.id;
    const created = await sets.batchCreateInstances({
      instanceSetId: setId,
      studentSpec: { imageId: w.imageId, cpuCores: 1, memoryGb: 1, storageGb: 1 },
      students: students.map((s) => ({ userId: s.userId })),
    });
    expect(created.createdCount).to.equal(2);
    const ids = created.results.map((r) => r.instance!.instanceId);

    const started = await sets.batchStartInstances({ instanceSetId: setId, computePoolId: w.site.computePoolId });
    expect(started.results.map((r) => [r.instanceId, r.error?.message ?? r.instance!.status])).to.deep.equal(
      ids.map((id) => [id, InstanceStatus.INITIALIZING]),
    );
    for (const id of ids) await w.reach(id, "running");
    const running = await sets.listInstanceSetInstances({ instanceSetId: setId });
    expect(running.instances.map((i) => i.status)).to.deep.equal([InstanceStatus.RUNNING, InstanceStatus.RUNNING]);
    expect(running.instances.every((i) => i.computeMachineId === w.machineId)).to.equal(true);
    // The set's work instances (000 §2.3 工作实例): the running ones.
    const work = await sets.listInstanceSetInstances({ instanceSetId: setId, status: InstanceStatus.RUNNING });
    expect(work.instances.map((i) => i.instanceId)).to.have.members(ids);

    const stopped = await sets.batchStopInstances({ instanceSetId: setId });
    expect(stopped.results.map((r) => r.instance?.status)).to.deep.equal([
      InstanceStatus.STOPPING,
      InstanceStatus.STOPPING,
    ]);
    for (const id of ids) await w.reach(id, "stopped");
    expect(await w.allocation()).to.deep.equal([0, 0, 0]);

    const deleted = await sets.batchDeleteInstances({ instanceSetId: setId });
    expect(deleted.results.every((r) => r.error === undefined)).to.equal(true);
    for (const id of ids) await w.reach(id, "deleted");
    expect((await sets.listInstanceSetInstances({ instanceSetId: setId })).instances).to.deep.equal([]);
  });
});
