import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { InstanceService, InstanceStatus, RentalMode } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { errorReasons, violatedFields } from "../support/api-conventions.js";
import { CatalogPeople, PASSWORD, counts, failure } from "../catalog/catalog-fixtures.js";
import { TemplateService, TemplateVisibility } from "../../gen/edgehub/admin/v1/template_pb.js";
import { InstanceWorld } from "./instance-fixtures.js";

describe("InstanceService: create, start, stop, delete, errors and version locking", function () {
  this.timeout(120_000);
  const w = new InstanceWorld();
  before(() => w.start());
  after(() => w.stop());

  it("creates a stopped instance with nothing allocated, locked to the version latest pointed at", async () => {
    const { instance } = await w.create();
    expect(instance!.status).to.equal(InstanceStatus.STOPPED);
    expect(instance!.imageVersionId).to.equal(w.v1);
    expect(instance!.imageTagUsed).to.equal("latest");
    expect(instance!.computeMachineId).to.equal("");
    expect(await w.allocated()).to.deep.equal([0, 0, 0]);
    const audit = await w
      .knex("audit_log")
      .where({ action: "instance.create", target_id: instance!.id })
      .count<{ n: number }[]>({ n: "*" });
    expect(Number(audit[0]!.n)).to.equal(1);
    const usage = await w.knex("image_version_usage").where({ instance_id: instance!.id }).first("image_version_id");
    expect(usage.image_version_id).to.equal(w.v1);
  });

  it("moving latest after create changes nothing that exists (version locking)", async () => {
    const { instance } = await w.create({ name: "locked" });
    const v2 = (await w.images().publishImageVersion({ imageId: w.imageId, versionNumber: "v2.0.0", makeLatest: true }))
      .version!.id;
    const again = await w.as(w.alice).getInstance({ id: instance!.id });
    expect(again.instance!.imageVersionId).to.equal(w.v1);
    const fresh = await w.create({ name: "fresh" });
    expect(fresh.instance!.imageVersionId).to.equal(v2);
  });

  it("refuses zero CPUs, a spec below the image minimum (with the recommended spec) and another user's instance", async () => {
    const before = await counts(w.knex, ["instances", "quota_consumers"]);
    const zero = await failure(w.create({ cpuCores: 0 }));
    expect(zero.code).to.equal(Code.InvalidArgument);
    expect(violatedFields(zero)).to.deep.equal(["instance.cpu_cores"]);
    await w
      .knex("image_requirements")
      .where({ image_id: w.imageId })
      .update({ min_memory_gb: 4, recommended_memory_gb: 8 });
    const short = await failure(w.create({ memoryGb: 2 }));
    expect(short.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(short)).to.include("IMAGE_REQUIREMENTS_NOT_MET");
    expect(short.rawMessage).to.contain("memory_gb 2 is below the minimum 4 (recommended 8)");
    await w
      .knex("image_requirements")
      .where({ image_id: w.imageId })
      .update({ min_memory_gb: 1, recommended_memory_gb: 2 });
    expect(await counts(w.knex, ["instances", "quota_consumers"])).to.deep.equal(before);
    const { instance } = await w.create({ name: "mine" });
    expect((await failure(w.as(w.bob).getInstance({ id: instance!.id }))).code).to.equal(Code.NotFound);
    const bobs = await w.as(w.bob).listInstances({});
    expect(bobs.instances.map((i) => i.id)).to.not.include(instance!.id);
  });

  it("refuses an unknown pool and a GPU model nobody has, precisely, with nothing allocated", async () => {
    const { instance } = await w.create({ name: "nowhere" });
    const before = await counts(w.knex, ["virtual_machines", "machine_allocations"]);
    const unknown = await failure(
      w.as(w.alice).startInstance({ id: instance!.id, computePoolId: "0193a0f0-0000-7000-8000-000000000000" }),
    );
    expect(unknown.code).to.equal(Code.NotFound);
    expect(unknown.rawMessage).to.contain("compute pool");
    const gpu = await w.create({ name: "gpu", gpuCount: 1, gpuModel: "NVIDIA H200" });
    const none = await failure(w.as(w.alice).startInstance({ id: gpu.instance!.id, computePoolId: w.pool.poolId }));
    expect(none.code).to.equal(Code.ResourceExhausted);
    expect(errorReasons(none)).to.include("NO_CAPACITY");
    const after = (await w.as(w.alice).getInstance({ id: gpu.instance!.id })).instance!;
    expect(after.status).to.equal(InstanceStatus.STOPPED);
    expect(after.lastError).to.contain("NVIDIA H200");
    expect(await counts(w.knex, ["virtual_machines", "machine_allocations"])).to.deep.equal(before);
    expect(await w.allocated()).to.deep.equal([0, 0, 0]);
    const events = await w.as(w.alice).listInstanceEvents({ instanceId: gpu.instance!.id });
    const failed = events.events.find((e) => e.kind === "placement_failed");
    expect(failed?.attributes).to.have.property("scheduling_history_id");
  });

  it("start → running only on the agent's report → stop → delete, machine allocations back to zero", async () => {
    const { instance } = await w.create({ name: "full-cycle" });
    const id = instance!.id;
    const started = await w
      .as(w.alice)
      .startInstance({ id, computePoolId: w.pool.poolId, rentalMode: RentalMode.SHARED });
    expect(started.instance!.status).to.equal(InstanceStatus.INITIALIZING);
    expect(started.schedulingHistoryId).to.not.equal("");
    expect(await w.allocated()).to.deep.equal([2, 2, 10]);
    // The define is answered, the start is not yet: still initializing.
    await w.queuedCommand("define_domain");
    expect(await w.agentAnswers()).to.deep.equal(["define_domain"]);
    expect((await w.as(w.alice).getInstance({ id })).instance!.status).to.equal(InstanceStatus.INITIALIZING);
    expect(await w.converge(id, InstanceStatus.RUNNING)).to.include("start_domain");
    const running = (await w.as(w.alice).getInstance({ id })).instance!;
    expect(running.virtualMachine!.vmName).to.equal(`edgehub-${running.virtualMachineId}`);

    expect((await w.as(w.alice).stopInstance({ id })).instance!.status).to.equal(InstanceStatus.STOPPING);
    expect(await w.converge(id, InstanceStatus.STOPPED)).to.include("shutdown_domain");
    const stopped = (await w.as(w.alice).getInstance({ id })).instance!;
    expect(stopped.computeMachineId).to.equal("");
    expect(await w.allocated()).to.deep.equal([0, 0, 0]);

    expect((await w.as(w.alice).deleteInstance({ id })).instance!.status).to.equal(InstanceStatus.TERMINATING);
    expect(await w.converge(id, InstanceStatus.DELETED)).to.include("undefine_domain");
    expect((await failure(w.as(w.alice).getInstance({ id }))).code).to.equal(Code.NotFound);
    expect(await w.allocated()).to.deep.equal([0, 0, 0]);
    expect(await w.knex("image_version_usage").where({ instance_id: id }).first()).to.equal(undefined);
    expect(await w.knex("quota_consumers").where({ consumer_id: id }).first()).to.equal(undefined);
    const messages = (await w
      .knex("instance_events")
      .where({ instance_id: id })
      .orderBy("id")
      .pluck("message")) as string[];
    expect(messages.join("\n")).to.contain("initializing → running").and.to.contain("terminating → deleted");
  });

  it("an offline agent makes a start wait, then fail at its deadline with a readable reason", async () => {
    const { instance } = await w.create({ name: "offline" });
    const id = instance!.id;
    await w.as(w.alice).startInstance({ id, computePoolId: w.pool.poolId });
    const agentId = await w.agentId();
    await w.knex("agents").where({ id: agentId }).update({ status: "offline", disconnected_at: w.clock.now() });
    await w.reconciler.runOnce();
    expect(await w.agentAnswers()).to.deep.equal([]);
    expect((await w.as(w.alice).getInstance({ id })).instance!.status).to.equal(InstanceStatus.INITIALIZING);
    w.clock.advance(11 * 60_000);
    await w.converge(id, InstanceStatus.STOPPED);
    const failed = (await w.as(w.alice).getInstance({ id })).instance!;
    expect(failed.lastError).to.match(/compute machine host-\S+'s agent is offline since \d{4}-/);
    expect(await w.allocated()).to.deep.equal([0, 0, 0]);
    await w.knex("agents").where({ id: agentId }).update({ status: "connected" });
  });

  it("resize while stopped re-checks quota: above the user's limit is resource_exhausted, nothing changed", async () => {
    const { instance } = await w.create({ name: "resize" });
    await w
      .knex("users")
      .where({ id: w.alice.userId })
      .update({ quota_config: JSON.stringify({ max_storage_gb: 1000 }) });
    const bigger = await w.as(w.alice).resizeInstance({ id: instance!.id, cpuCores: 4, storageGb: 20 });
    expect(bigger.instance!.cpuCores).to.equal(4);
    const over = await failure(w.as(w.alice).resizeInstance({ id: instance!.id, storageGb: 5000 }));
    expect(over.code).to.equal(Code.ResourceExhausted);
    expect(errorReasons(over)).to.include("QUOTA_EXCEEDED");
    expect((await w.as(w.alice).getInstance({ id: instance!.id })).instance!.storageGb).to.equal(20);
    const shrink = await failure(w.as(w.alice).resizeInstance({ id: instance!.id, storageGb: 10 }));
    expect(errorReasons(shrink)).to.include("STORAGE_SHRINK");
    const belowImage = await failure(w.as(w.alice).resizeInstance({ id: instance!.id, cpuCores: 0 }));
    expect(violatedFields(belowImage)).to.deep.equal(["cpu_cores"]);
    await w
      .knex("users")
      .where({ id: w.alice.userId })
      .update({ quota_config: JSON.stringify({}) });
  });

  it("a start the quota refuses is resource_exhausted QUOTA_EXCEEDED and places nothing", async () => {
    const { instance } = await w.create({ name: "quota" });
    await w
      .knex("users")
      .where({ id: w.alice.userId })
      .update({ quota_config: JSON.stringify({ max_cpu_cores: 1 }) });
    const before = await counts(w.knex, ["virtual_machines", "machine_allocations"]);
    const refused = await failure(w.as(w.alice).startInstance({ id: instance!.id, computePoolId: w.pool.poolId }));
    expect(refused.code).to.equal(Code.ResourceExhausted);
    expect(errorReasons(refused)).to.include("QUOTA_EXCEEDED");
    expect(await counts(w.knex, ["virtual_machines", "machine_allocations"])).to.deep.equal(before);
    expect(await w.allocated()).to.deep.equal([0, 0, 0]);
    expect((await w.as(w.alice).getInstance({ id: instance!.id })).instance!.status).to.equal(InstanceStatus.STOPPED);
    await w
      .knex("users")
      .where({ id: w.alice.userId })
      .update({ quota_config: JSON.stringify({}) });
  });
});

describe("InstanceService: templates, tenant scoping and updates", function () {
  this.timeout(120_000);
  const w = new InstanceWorld();
  before(() => w.start());
  after(() => w.stop());

  it("creates from a template: its defaults, the request's sizes over them, the image's default version", async () => {
    const templates = w.t.client(TemplateService, w.adminToken);
    const { template } = await templates.createTemplate({
      template: {
        config: {
          name: "office",
          baseImageId: w.imageId,
          defaultCpuCores: 2,
          defaultMemoryGb: 4,
          defaultStorageGb: 20,
          listed: true,
        },
        visibility: TemplateVisibility.PUBLIC,
      },
    });
    const res = await w.as(w.alice).createInstance({
      instance: { name: "from-template", cpuCores: 3 },
      templateId: template!.id,
    });
    expect(res.instance).to.include({
      templateId: template!.id,
      imageId: w.imageId,
      imageVersionId: w.v1,
      cpuCores: 3,
      memoryGb: 4,
      storageGb: 20,
      status: InstanceStatus.STOPPED,
    });
    const both = await failure(
      w.as(w.alice).createInstance({ instance: { name: "x" }, templateId: template!.id, imageId: w.imageId }),
    );
    expect(violatedFields(both)).to.deep.equal(["template_id"]);
  });

  it("a user lists its own, a tenant_admin its tenant's, an admin all; another tenant's filter is not_found", async () => {
    const people = new CatalogPeople(w.knex);
    const b = await people.tenant("tenant-b");
    const carol = await people.user("carol", "user", b);
    await people.user("ta-a", "tenant_admin", { id: w.alice.tenantId!, name: "tenant-a" });
    const carolToken = await w.t.login("carol", PASSWORD, "tenant-b");
    const taToken = await w.t.login("ta-a", PASSWORD, "tenant-a");
    const mine = (await w.create({ name: "alice-1" })).instance!.id;
    const bobs = (await w.create({ name: "bob-1" }, w.bob)).instance!.id;
    const carols = (
      await w.t.client(InstanceService, carolToken).createInstance({
        instance: { name: "carol-1", cpuCores: 1, memoryGb: 1, storageGb: 1 },
        imageId: w.imageId,
      })
    ).instance!.id;
    const ids = async (token: string, req: Record<string, unknown> = {}) =>
      (await w.t.client(InstanceService, token).listInstances(req)).instances.map((i) => i.id);
    const aliceSees = (await w.as(w.alice).listInstances({})).instances.map((i) => i.id);
    expect(aliceSees).to.include(mine).and.not.include(bobs).and.not.include(carols);
    expect(await ids(taToken))
      .to.include.members([mine, bobs])
      .and.not.include(carols);
    expect(await ids(w.adminToken)).to.include.members([mine, bobs, carols]);
    expect(await ids(w.adminToken, { tenantId: carol.tenantId })).to.deep.equal([carols]);
    expect(
      (await failure(w.t.client(InstanceService, taToken).listInstances({ tenantId: carol.tenantId! }))).code,
    ).to.equal(Code.NotFound);
    // tenant_admin creates for a user of its tenant; a user cannot create for another user.
    const forBob = await w.t.client(InstanceService, taToken).createInstance({
      instance: { name: "for-bob", userId: w.bob.userId, cpuCores: 1, memoryGb: 1, storageGb: 1 },
      imageId: w.imageId,
    });
    expect(forBob.instance!.userId).to.equal(w.bob.userId);
    expect(
      (
        await failure(
          w.as(w.alice).createInstance({
            instance: { name: "x", userId: w.bob.userId, cpuCores: 1, memoryGb: 1, storageGb: 1 },
            imageId: w.imageId,
          }),
        )
      ).code,
    ).to.equal(Code.NotFound);
  });

  it("UpdateInstance changes name and description under an etag; a stale etag is aborted, nothing written", async () => {
    const { instance } = await w.create({ name: "rename-me" });
    const updated = await w.as(w.alice).updateInstance({
      instance: { id: instance!.id, name: "renamed", description: "mine", etag: instance!.etag },
      updateMask: { paths: ["name", "description"] },
    });
    expect(updated.instance).to.include({ name: "renamed", description: "mine" });
    const stale = await failure(
      w.as(w.alice).updateInstance({
        instance: { id: instance!.id, name: "again", etag: instance!.etag },
        updateMask: { paths: ["name"] },
      }),
    );
    expect(stale.code).to.equal(Code.Aborted);
    const status = await failure(
      w.as(w.alice).updateInstance({ instance: { id: instance!.id, name: "x" }, updateMask: { paths: ["status"] } }),
    );
    expect(violatedFields(status)).to.deep.equal(["update_mask"]);
    expect((await w.as(w.alice).getInstance({ id: instance!.id })).instance!.name).to.equal("renamed");
  });
});
