import { expect } from "chai";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { InstanceSetRole, InstanceSetStatus } from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import { waitFor } from "../fleet/support/agent-process.js";
import { libvirtTestDriverUsable } from "../support/libvirt-backends.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import type { BoxProcess } from "../cloud-boxes/box-process.js";
import { ClassroomWorld } from "./classroom-world.js";

// The teaching scenario of 000 §2.5 end to end, with real programs: a teacher prepares a training
// set for a class of 30 (one student's quota is short: that student alone fails), binds 30 boxes to
// the class's instances with an expiry, the boxes boot straight into their own instance's viewer
// with a ticket and no login, a box keeps its viewer when the hub goes away, and after class one
// call unbinds every box and the set is archived. Compute: libvirt's test:///default driver.

const STUDENTS = 30;

describe("a classroom: 1 teacher + 30 students, 30 cloud boxes (real hub, compute agent, edgehub-cloudbox)", function () {
  this.timeout(600_000);
  const w = new ClassroomWorld(STUDENTS);
  let setId = "";
  let teacherInstance = "";
  /** Student (or teacher) username → their instance id. */
  const instanceOf = new Map<string, string>();
  const boxOf = new Map<string, { id: string; serial: string; process: BoxProcess }>();

  before(async function () {
    skipUnlessBackend(this, libvirtTestDriverUsable(), "libvirt.so.0 and qemu-img (apt install libvirt0 qemu-utils)");
    await w.start();
  });
  after(async () => {
    await w.stop();
  });

  it("prep: a training set, 1 teacher + 30 students batch-created (the student over quota fails alone), all started", async () => {
    const poor = w.students[STUDENTS - 1]!;
    await w.setUserQuota(poor, { max_instances: 0 });
    setId = await w.trainingSet("java-2025");
    const sets = await w.sets(w.teacher);
    const res = await sets.batchCreateInstances({
      instanceSetId: setId,
      teacherInstance: { name: "teacher-desk", spec: w.spec({ cpuCores: 2, memoryGb: 2 }) },
      studentSpec: w.spec(),
      students: w.students.map((s) => ({ userId: s.userId })),
    });
    expect(res.createdCount).to.equal(STUDENTS); // the teacher's and 29 students'
    expect(res.failedCount).to.equal(1);
    const failed = res.results.filter((r) => r.error);
    expect(failed.map((r) => [r.userId, r.error!.code])).to.deep.equal([[poor.userId, "resource_exhausted"]]);
    for (const r of res.results.filter((x) => x.instance)) {
      expect(r.instance!.userId).to.equal(r.userId); // owned by (and charged to) its own user
      const who = r.role === InstanceSetRole.TEACHER ? w.teacher : w.students.find((s) => s.userId === r.userId)!;
      instanceOf.set(who.username, r.instance!.instanceId);
    }
    teacherInstance = instanceOf.get(w.teacher.username)!;
    expect(teacherInstance).to.be.a("string");

    const started = await sets.batchStartInstances({ instanceSetId: setId, computePoolId: w.site.computePoolId });
    expect(started.results.filter((r) => r.error)).to.deep.equal([]);
    await w.waitForStatus([...instanceOf.values()], "running");
  });

  it("no student reaches another student's instance", async () => {
    const [a, b] = w.students;
    const mine = await (await w.instances(a!)).listInstances({});
    expect(mine.instances.map((i) => i.id)).to.deep.equal([instanceOf.get(a!.username)]);
    const err = await (await w.instances(a!)).getInstance({ id: instanceOf.get(b!.username)! }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).to.equal(Code.NotFound);
    const theirs = await (await w.sets(a!)).listMyInstanceSets({});
    const reach = theirs.instanceSets.flatMap((s) => s.instances.map((i) => i.instanceId));
    expect(reach).to.deep.equal([instanceOf.get(a!.username)]);
  });

  it("30 boxes enroll; the teacher binds them to the class's instances in one call; each boots into its own instance's viewer with a ticket, no login", async () => {
    const seats = [w.teacher, ...w.students.slice(0, STUDENTS - 1)];
    // Plug and play: every box enrolls with the site token and comes online, then is switched off.
    const serials = seats.map((_, i) => `SN-CLASS-${String(i + 1).padStart(4, "0")}`);
    const first = serials.map((s) => w.bootBox(s));
    const ids = await Promise.all(serials.map((s) => w.onlineBoxId(s)));
    await Promise.all(first.map((b) => b.kill("SIGTERM")));

    const expireTime = timestampFromDate(new Date(Date.now() + 2 * 3600_000));
    const bound = await (
      await w.cloudBoxes(w.teacher)
    ).bindCloudBoxes({
      bindings: seats.map((u, i) => ({ cloudBoxId: ids[i]!, instanceId: instanceOf.get(u.username)! })),
      expireTime,
    });
    expect(bound.results.filter((r) => !r.ok)).to.deep.equal([]);

    // Students switch their boxes on (same state directories: the boxes are enrolled).
    seats.forEach((u, i) =>
      boxOf.set(u.username, { id: ids[i]!, serial: serials[i]!, process: w.bootBox(serials[i]!, first[i]!.stateDir) }),
    );
    for (const u of seats) {
      const { process: box } = boxOf.get(u.username)!;
      const viewer = await waitFor(`${u.username}'s viewer`, async () => box.viewer(), 180_000);
      const instanceId = instanceOf.get(u.username)!;
      const vm = (await w.knex("instances").where({ id: instanceId }).first("virtual_machine_id")) as {
        virtual_machine_id: string;
      };
      // The ticket's one-time password is the one the hub had the agent set on THIS instance's domain.
      const passwords = (
        (await w
          .knex("agent_commands")
          .where({ kind: "set_graphics_password", state: "succeeded" })
          .whereRaw("payload::text like ?", [`%${vm.virtual_machine_id}%`])
          .select("payload")) as { payload: unknown }[]
      ).map((c) => JSON.stringify(c.payload));
      expect(viewer.vv.type).to.equal("vnc");
      expect(viewer.vv.password).to.match(/^\S{8}$/);
      expect(passwords.some((p) => p.includes(viewer.vv.password!))).to.equal(true);
      expect(box.screen()).to.not.contain("Username:");
    }
  });

  it("class ends: one call unbinds every box and the set is archived; an expired binding makes a box ask for login", async () => {
    const ids = [...boxOf.values()].map((b) => b.id);
    const unbound = await (await w.cloudBoxes(w.teacher)).unbindCloudBoxes({ cloudBoxIds: ids });
    expect(unbound.results.filter((r) => !r.ok)).to.deep.equal([]);
    const live = await w.knex("cloud_box_bindings").whereIn("cloud_box_id", ids).whereNull("ended_at").select("id");
    expect(live).to.deep.equal([]);
    const archived = await (await w.sets(w.teacher)).archiveInstanceSet({ id: setId });
    expect(archived.instanceSet!.status).to.equal(InstanceSetStatus.ARCHIVED);

    // Next lesson, a binding that runs out: once it has expired, the box asks for a login.
    const student = w.students[0]!;
    const seat = boxOf.get(student.username)!;
    await (
      await w.cloudBoxes("admin")
    ).bindCloudBoxes({
      bindings: [{ cloudBoxId: seat.id, instanceId: instanceOf.get(student.username)! }],
      expireTime: timestampFromDate(new Date(Date.now() + 1500)),
    });
    await waitFor("the expiry loop to end the binding", async () =>
      w.knex("audit_log").where({ action: "cloud_box.binding_expired", target_id: seat.id }).first("id"),
    );
    await (await w.cloudBoxes("admin")).rebootCloudBox({ id: seat.id, reason: "next lesson" });
    await seat.process.waitForScreen(/Restarting[\s\S]*Username: /);
  });

  it("the hub goes away while the class is in its desktops: every viewer keeps running, the boxes say the hub is unreachable", async () => {
    const seats = [...boxOf.entries()].filter(([name]) => name !== w.students[0]!.username).map(([, b]) => b);
    expect(seats).to.have.length(STUDENTS - 1); // the teacher's box and 28 students' still in their desktops
    const pids = seats.map((b) => b.process.viewer()!.pid);
    await w.stopHub();
    for (const b of seats) await b.process.waitForScreen(/The hub is unreachable .*your session stays open/);
    for (const pid of pids) process.kill(pid, 0); // throws if that viewer is gone
  });
});
