import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CloudBoxStatus } from "../../gen/edgehub/admin/v1/cloud_box_pb.js";
import { ADVISORY_LOCK_KEYS } from "../../hub/db/advisory-lock-keys.js";
import { withLease } from "../../hub/background/lease.js";
import { expireBindings } from "../../hub/cloud-boxes/cloud-box-bindings.js";
import { AGENT_BACK, AGENT_LOST, moveBoxesOfAgents } from "../../hub/cloud-box-devices/cloud-box-lifecycle.js";
import { connectErrorOf, errorReasons, violatedFields } from "../support/api-conventions.js";
import { BoxWorld } from "./box-world.js";

// CloudBoxService (000 §1.6, §2.5): list/get/update, disable/enable/decommission, reboot, temporary
// bindings one box or many at a time, their expiry, and every refusal with the right code.

describe("CloudBoxService", function () {
  this.timeout(120_000);
  const w = new BoxWorld();
  before(() => w.start());
  after(() => w.stop());

  const audits = (action: string) => w.knex("audit_log").where({ action }).select("target_id", "actor_username");

  it("lists with status, site, tag and assigned-user filters and pages; gets one; refuses bad filters and ids", async () => {
    const a = await w.insertBox({ tags: { room: "101" } });
    const b = await w.insertBox({ tags: { room: "102" }, status: "offline" });
    await w.boxes().updateCloudBox({
      cloudBox: { id: b, assignedUserId: w.alice.userId },
      updateMask: { paths: ["assigned_user_id"] },
    });
    const ids = async (req: Parameters<ReturnType<BoxWorld["boxes"]>["listCloudBoxes"]>[0]) =>
      (await w.boxes().listCloudBoxes(req)).cloudBoxes.map((x) => x.id);
    expect(await ids({ status: CloudBoxStatus.OFFLINE }))
      .to.include(b)
      .and.not.include(a);
    expect(await ids({ tagKey: "room", tagValue: "101" })).to.deep.equal([a]);
    expect(await ids({ tagKey: "room" })).to.include.members([a, b]);
    expect(await ids({ assignedUserId: w.alice.userId })).to.deep.equal([b]);
    expect(await ids({ edgeDataCenterId: w.siteId })).to.include.members([a, b]);
    const first = await w.boxes().listCloudBoxes({ pageSize: 1 });
    expect(first.cloudBoxes).to.have.length(1);
    expect(first.nextPageToken).to.not.equal("");
    const { cloudBox } = await w.boxes(w.tenantAdmin).getCloudBox({ id: a });
    expect(cloudBox).to.include({ id: a, serialNumber: "SN-1", status: CloudBoxStatus.ONLINE });

    expect(
      violatedFields(await connectErrorOf(w.boxes().listCloudBoxes({ status: 99 as CloudBoxStatus }))),
    ).to.deep.equal(["status"]);
    expect(violatedFields(await connectErrorOf(w.boxes().listCloudBoxes({ tagValue: "x" })))).to.deep.equal([
      "tag_value",
    ]);
    expect(violatedFields(await connectErrorOf(w.boxes().listCloudBoxes({ tagKey: "bad key" })))).to.deep.equal([
      "tag_key",
    ]);
    expect(violatedFields(await connectErrorOf(w.boxes().listCloudBoxes({ edgeDataCenterId: "x" })))).to.deep.equal([
      "edge_data_center_id",
    ]);
    expect(violatedFields(await connectErrorOf(w.boxes().getCloudBox({ id: "nope" })))).to.deep.equal(["id"]);
    expect((await connectErrorOf(w.boxes().getCloudBox({ id: "0190c4c4-0000-7000-8000-000000000000" }))).code).to.equal(
      Code.NotFound,
    );
    // Users list boxes too (a teacher picks the classroom's); changing them is for operators.
    expect((await w.boxes(w.alice).listCloudBoxes({})).cloudBoxes.map((x) => x.id)).to.include(a);
    expect((await connectErrorOf(w.boxes(w.alice).disableCloudBox({ id: a }))).code).to.equal(Code.PermissionDenied);
  });

  it("updates name, location, tags and assigned user with the etag; refuses stale etags, bad fields and other roles, writing nothing", async () => {
    const id = await w.insertBox();
    const before = (await w.boxes().getCloudBox({ id })).cloudBox!;
    const { cloudBox } = await w.boxes(w.operator).updateCloudBox({
      cloudBox: {
        id,
        name: "front-row-1",
        location: "Room 101",
        tags: { room: "101" },
        assignedUserId: w.alice.userId,
        etag: before.etag,
      },
      updateMask: { paths: ["name", "location", "tags", "assigned_user_id"] },
    });
    expect(cloudBox).to.include({ name: "front-row-1", location: "Room 101", assignedUserId: w.alice.userId });
    expect(cloudBox!.tags).to.deep.equal({ room: "101" });
    expect((await audits("cloud_box.update")).map((r) => r.target_id)).to.include(id);

    const stale = await connectErrorOf(
      w.boxes().updateCloudBox({ cloudBox: { id, name: "x", etag: before.etag }, updateMask: { paths: ["name"] } }),
    );
    expect(stale.code).to.equal(Code.Aborted);
    expect(errorReasons(stale)).to.deep.equal(["ETAG_MISMATCH"]);
    const bad = async (cloudBox: Record<string, unknown>, paths: string[]) =>
      connectErrorOf(w.boxes().updateCloudBox({ cloudBox: { id, ...cloudBox }, updateMask: { paths } }));
    expect(violatedFields(await bad({ name: " " }, ["name"]))).to.deep.equal(["cloud_box.name"]);
    expect(violatedFields(await bad({ tags: { "bad key": "x" } }, ["tags"]))).to.deep.equal([
      'cloud_box.tags["bad key"]',
    ]);
    expect(violatedFields(await bad({ assignedUserId: "x" }, ["assigned_user_id"]))).to.deep.equal([
      "cloud_box.assigned_user_id",
    ]);
    expect((await bad({}, ["serial_number"])).code).to.equal(Code.InvalidArgument);
    expect((await bad({ assignedUserId: "0190c4c4-0000-7000-8000-000000000000" }, ["assigned_user_id"])).code).to.equal(
      Code.NotFound,
    );
    expect(
      (
        await connectErrorOf(
          w.boxes(w.tenantAdmin).updateCloudBox({ cloudBox: { id, name: "y" }, updateMask: { paths: ["name"] } }),
        )
      ).code,
    ).to.equal(Code.PermissionDenied);
    expect((await w.boxes().getCloudBox({ id })).cloudBox!.name).to.equal("front-row-1");
  });

  it("disables (its agent coming back leaves it disabled), enables back to online, reboots through a reboot_box command, decommissions for good", async () => {
    const id = await w.insertBox();
    const agentId = (await w.knex("cloud_boxes").where({ id }).first("agent_id")).agent_id as string;
    expect((await w.boxes().disableCloudBox({ id })).cloudBox!.status).to.equal(CloudBoxStatus.DISABLED);
    await moveBoxesOfAgents(w.knex, [agentId], AGENT_LOST, w.clock.now());
    await moveBoxesOfAgents(w.knex, [agentId], AGENT_BACK, w.clock.now());
    expect((await w.boxes().getCloudBox({ id })).cloudBox!.status).to.equal(CloudBoxStatus.DISABLED);
    expect((await w.boxes().disableCloudBox({ id })).cloudBox!.status).to.equal(CloudBoxStatus.DISABLED);
    expect((await w.boxes().enableCloudBox({ id })).cloudBox!.status).to.equal(CloudBoxStatus.ONLINE);

    const { commandId } = await w.boxes().rebootCloudBox({ id, reason: "stuck viewer" });
    const command = await w.knex("agent_commands").where({ id: commandId }).first("agent_id", "kind", "state");
    expect(command).to.deep.equal({ agent_id: agentId, kind: "reboot_box", state: "queued" });

    const instance = await w.instanceOf(w.alice);
    await w.boxes().bindCloudBoxes({ bindings: [{ cloudBoxId: id, instanceId: instance }] });
    const gone = (await w.boxes().decommissionCloudBox({ id, reason: "broken screen" })).cloudBox!;
    expect(gone.status).to.equal(CloudBoxStatus.DECOMMISSIONED);
    expect(gone.binding).to.equal(undefined);
    expect((await w.knex("agents").where({ id: agentId }).first("status")).status).to.equal("revoked");
    expect(await w.liveBindings(w.knex, id)).to.deep.equal([]);
    expect((await w.boxes().decommissionCloudBox({ id })).cloudBox!.status).to.equal(CloudBoxStatus.DECOMMISSIONED);

    for (const call of [
      () => w.boxes().enableCloudBox({ id }),
      () => w.boxes().disableCloudBox({ id }),
      () => w.boxes().rebootCloudBox({ id }),
    ]) {
      const err = await connectErrorOf(call());
      expect(err.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(err)).to.deep.equal(["BOX_STATUS"]);
    }
    expect((await connectErrorOf(w.boxes(w.tenantAdmin).rebootCloudBox({ id }))).code).to.equal(Code.PermissionDenied);
    expect(violatedFields(await connectErrorOf(w.boxes().disableCloudBox({ id: "" })))).to.deep.equal(["id"]);
    expect((await audits("cloud_box.decommission")).map((r) => r.target_id)).to.deep.equal([id]);
  });

  it("puts a box in maintenance (its agent's comings and goings leave it there, it opens nothing) and back", async () => {
    const id = await w.insertBox();
    const agentId = (await w.knex("cloud_boxes").where({ id }).first("agent_id")).agent_id as string;
    expect((await w.boxes(w.operator).startCloudBoxMaintenance({ id })).cloudBox!.status).to.equal(
      CloudBoxStatus.MAINTENANCE,
    );
    await moveBoxesOfAgents(w.knex, [agentId], AGENT_LOST, w.clock.now());
    await moveBoxesOfAgents(w.knex, [agentId], AGENT_BACK, w.clock.now());
    expect((await w.boxes().getCloudBox({ id })).cloudBox!.status).to.equal(CloudBoxStatus.MAINTENANCE);
    expect(await w.boxes().previewStartupCheck({ id })).to.include({
      requiresLogin: false,
      message: "This cloud box is in maintenance",
    });
    // The agent went away meanwhile: ending maintenance lands on offline.
    await w.knex("agents").where({ id: agentId }).update({ status: "disconnected" });
    expect((await w.boxes().endCloudBoxMaintenance({ id })).cloudBox!.status).to.equal(CloudBoxStatus.OFFLINE);
    const notIn = await connectErrorOf(w.boxes().endCloudBoxMaintenance({ id }));
    expect(notIn.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(notIn)).to.deep.equal(["BOX_STATUS"]);
    expect((await connectErrorOf(w.boxes(w.tenantAdmin).startCloudBoxMaintenance({ id }))).code).to.equal(
      Code.PermissionDenied,
    );
    expect(violatedFields(await connectErrorOf(w.boxes().startCloudBoxMaintenance({ id: "x" })))).to.deep.equal(["id"]);
    expect((await audits("cloud_box.start_maintenance")).map((r) => r.target_id)).to.deep.equal([id]);
  });

  it("binds many boxes in one call with per-box results, replaces a box's binding, unbinds; tenant admins only to their tenant's instances", async () => {
    const [b1, b2, b3] = [await w.insertBox(), await w.insertBox(), await w.insertBox({ status: "disabled" })];
    const mine = await w.instanceOf(w.alice);
    const other = await w.instanceOf(w.carol);
    const expireTime = timestampFromDate(new Date(w.clock.now().getTime() + 3_600_000));
    const { results } = await w.boxes(w.tenantAdmin).bindCloudBoxes({
      bindings: [
        { cloudBoxId: b1, instanceId: mine },
        { cloudBoxId: b2, instanceId: other },
        { cloudBoxId: b3, instanceId: mine },
      ],
      expireTime,
    });
    expect(results.map((r) => [r.cloudBoxId, r.ok, r.code])).to.deep.equal([
      [b1, true, ""],
      [b2, false, "not_found"],
      [b3, false, "failed_precondition"],
    ]);
    expect(results[0]!.binding).to.include({ instanceId: mine, userId: w.alice.userId });
    expect(results[0]!.binding!.expireTime).to.deep.equal(expireTime);
    expect(await w.liveBindings(w.knex, b2)).to.deep.equal([]);

    const second = await w.instanceOf(w.alice);
    await w.boxes().bindCloudBoxes({ bindings: [{ cloudBoxId: b1, instanceId: second }] });
    const live = await w.liveBindings(w.knex, b1);
    expect(live.map((r) => r.instance_id)).to.deep.equal([second]);
    expect((await w.knex("cloud_box_bindings").where({ cloud_box_id: b1, end_reason: "replaced" })).length).to.equal(1);
    expect((await w.boxes().getCloudBox({ id: b1 })).cloudBox!.binding!.instanceId).to.equal(second);

    // Another tenant's admin can neither end it nor learn the instance.
    const foreign = await w.boxes(w.otherTenantAdmin).unbindCloudBoxes({ cloudBoxIds: [b1] });
    expect(foreign.results[0]).to.include({ ok: false, code: "not_found" });
    const unbound = await w.boxes(w.tenantAdmin).unbindCloudBoxes({ cloudBoxIds: [b1, b2] });
    expect(unbound.results.map((r) => [r.ok, r.code])).to.deep.equal([
      [true, ""],
      [false, "failed_precondition"],
    ]);
    expect(unbound.results[1]!.message).to.contain("no temporary binding");
    expect(await w.liveBindings(w.knex, b1)).to.deep.equal([]);
    expect((await audits("cloud_box.unbind")).map((r) => r.target_id)).to.deep.equal([b1]);

    const call = (req: Parameters<ReturnType<BoxWorld["boxes"]>["bindCloudBoxes"]>[0]) =>
      connectErrorOf(w.boxes().bindCloudBoxes(req));
    expect(violatedFields(await call({ bindings: [] }))).to.deep.equal(["bindings"]);
    expect(violatedFields(await call({ bindings: [{ cloudBoxId: "x", instanceId: mine }] }))).to.deep.equal([
      "bindings[0]",
    ]);
    expect(violatedFields(await call({ bindings: [{ cloudBoxId: b1, instanceId: "" }] }))).to.deep.equal([
      "bindings[0].instance_id",
    ]);
    expect(
      violatedFields(
        await call({
          bindings: [
            { cloudBoxId: b1, instanceId: mine },
            { cloudBoxId: b1, instanceId: mine },
          ],
        }),
      ),
    ).to.deep.equal(["bindings"]);
    expect(
      violatedFields(
        await call({
          bindings: [{ cloudBoxId: b1, instanceId: mine }],
          expireTime: timestampFromDate(new Date(w.clock.now().getTime() - 1000)),
        }),
      ),
    ).to.deep.equal(["expire_time"]);
    expect(violatedFields(await connectErrorOf(w.boxes().unbindCloudBoxes({ cloudBoxIds: [] })))).to.deep.equal([
      "cloud_box_ids",
    ]);
    // A user who owns the instance but teaches no set of it may not take a classroom box.
    const own = await w.boxes(w.alice).bindCloudBoxes({ bindings: [{ cloudBoxId: b1, instanceId: mine }] });
    expect(own.results[0]).to.include({ ok: false, code: "permission_denied" });
    expect(await w.liveBindings(w.knex, b1)).to.deep.equal([]);
  });

  it("keeps one live binding per box when many bind it at once", async () => {
    const box = await w.insertBox();
    const instances = await Promise.all([1, 2, 3, 4, 5, 6].map(() => w.instanceOf(w.alice)));
    const outcomes = await Promise.all(
      instances.map((instanceId) => w.boxes().bindCloudBoxes({ bindings: [{ cloudBoxId: box, instanceId }] })),
    );
    expect(outcomes.every((o) => o.results[0]!.ok)).to.equal(true);
    const live = await w.liveBindings(w.knex, box);
    expect(live).to.have.length(1);
    expect(await w.knex("cloud_box_bindings").where({ cloud_box_id: box, end_reason: "replaced" })).to.have.length(5);
  });

  it("an expired binding is not offered at boot at once, and the expiry loop ends it with an audit row", async () => {
    const box = await w.insertBox();
    const instance = await w.instanceOf(w.alice);
    await w.boxes().bindCloudBoxes({
      bindings: [{ cloudBoxId: box, instanceId: instance }],
      expireTime: timestampFromDate(new Date(w.clock.now().getTime() + 60_000)),
    });
    const bound = await w.boxes().previewStartupCheck({ id: box });
    expect(bound).to.include({ requiresLogin: false, instanceId: instance });
    // The other tenant's admin sees that a box would open something, not what.
    expect(await w.boxes(w.otherTenantAdmin).previewStartupCheck({ id: box })).to.include({ instanceId: "" });
    w.clock.advance(61_000);
    const expired = await w.boxes().previewStartupCheck({ id: box });
    expect(expired).to.include({ requiresLogin: true, instanceId: "" });
    const pass = await withLease(w.knex, ADVISORY_LOCK_KEYS.cloudBoxBindingExpiry + 1, (trx) =>
      expireBindings(trx, w.clock.now()),
    );
    // (The hub's own loop may have taken it first: either way exactly one audit row per binding.)
    expect(pass.ran).to.equal(true);
    const row = await w.knex("cloud_box_bindings").where({ cloud_box_id: box }).first("end_reason", "ended_at");
    expect(row.end_reason).to.equal("expired");
    expect((await audits("cloud_box.binding_expired")).filter((r) => r.target_id === box)).to.have.length(1);
    expect(await w.boxes(w.carol).previewStartupCheck({ id: box })).to.include({ instanceId: "", requiresLogin: true });
  });

  it("a teacher binds and unbinds boxes for the instances of its set; a student of the set may not", async () => {
    const box = await w.insertBox();
    const student = await w.instanceOf(w.alice);
    const setId = "0190c4c4-0000-7000-8000-00000000c1a5";
    const tenantId = (await w.knex("users").where({ id: w.bob.userId }).first("tenant_id")).tenant_id;
    await w
      .knex("instance_sets")
      .insert({ id: setId, tenant_id: tenantId, owner_id: w.bob.userId, name: "java-101", set_type: "training" });
    await w.knex("instance_set_members").insert([
      { id: "0190c4c4-0000-7000-8000-00000000c1a6", instance_set_id: setId, user_id: w.bob.userId, role: "teacher" },
      { id: "0190c4c4-0000-7000-8000-00000000c1a7", instance_set_id: setId, user_id: w.alice.userId, role: "student" },
    ]);
    await w.knex("instance_set_instances").insert({
      id: "0190c4c4-0000-7000-8000-00000000c1a8",
      instance_set_id: setId,
      instance_id: student,
      role: "student",
    });

    const byStudent = await w.boxes(w.alice).bindCloudBoxes({ bindings: [{ cloudBoxId: box, instanceId: student }] });
    expect(byStudent.results[0]).to.include({ ok: false, code: "permission_denied" });
    const byTeacher = await w.boxes(w.bob).bindCloudBoxes({ bindings: [{ cloudBoxId: box, instanceId: student }] });
    expect(byTeacher.results[0]!.ok).to.equal(true);
    expect(byTeacher.results[0]!.binding).to.include({ instanceId: student, userId: w.alice.userId });
    expect((await w.boxes(w.alice).unbindCloudBoxes({ cloudBoxIds: [box] })).results[0]).to.include({
      ok: false,
      code: "permission_denied",
    });
    // The teacher's login at a box lists the set's instances with its role there.
    const { instances } = await w.boxes(w.bob).listAccessibleInstances({});
    const listed = instances.find((i) => i.instance!.id === student)!;
    expect(listed).to.include({ role: "teacher", instanceSetId: setId, instanceSetName: "java-101" });
    expect((await w.boxes(w.bob).unbindCloudBoxes({ cloudBoxIds: [box] })).results[0]!.ok).to.equal(true);
  });

  it("lists the instances a signed-in user may open from a box: their own, as owner", async () => {
    const own = await w.instanceOf(w.carol);
    const { instances } = await w.boxes(w.carol).listAccessibleInstances({});
    expect(instances.map((i) => [i.instance!.id, i.role])).to.deep.include([own, "owner"]);
    expect(instances.every((i) => i.instance!.userId === w.carol.userId)).to.equal(true);
    expect(
      violatedFields(await connectErrorOf(w.boxes(w.carol).listAccessibleInstances({ pageToken: "%%" }))),
    ).to.deep.equal(["page_token"]);
  });
});
