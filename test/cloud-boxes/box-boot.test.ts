import { expect } from "chai";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CloudBoxService } from "../../gen/edgehub/admin/v1/cloud_box_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { PASSWORD } from "../catalog/catalog-fixtures.js";
import { waitFor } from "../fleet/support/agent-process.js";
import { mintToken } from "../fleet/support/fleet-fixtures.js";
import { startTestDriverWorld, stopTestDriverWorld, type AgentWorld } from "../instances/agent-world.js";
import { libvirtTestDriverUsable } from "../support/libvirt-backends.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import { spawnBox, type BoxProcess } from "./box-process.js";

// 000 §2.5.2 with real programs: a hub, a compute agent on libvirt's test:///default driver and
// edgehub-cloudbox processes. A bound box opens its instance with no login (the hub starts it and
// takes the console-ticket path for it); without a binding, or once it expired, the box asks for a
// login and lists the user's instances. The viewer is test/cloud-boxes/fake-viewer.sh, which records
// its arguments and the .vv file; the hub going away leaves it running.

describe("a cloud box boots (real hub, compute agent on test:///default, edgehub-cloudbox)", function () {
  this.timeout(300_000);
  let dir = "";
  let w: AgentWorld;
  let boxToken = "";
  const boxes: BoxProcess[] = [];
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  before(async function () {
    skipUnlessBackend(this, libvirtTestDriverUsable(), "libvirt.so.0 and qemu-img (apt install libvirt0 qemu-utils)");
    ({ w, dir } = await startTestDriverWorld("box-boot"));
    boxToken = await mintToken(w.t, w.site, { role: AgentRole.CLOUD_BOX, maxUses: 10 });
  });
  after(async () => {
    await Promise.all(boxes.map((b) => b.dispose()));
    await stopTestDriverWorld(w, dir);
  });

  const admin = async () => w.t.client(CloudBoxService, await w.t.adminToken());
  const boot = async (serial: string, extraArgs: string[] = []) => {
    const box = spawnBox({
      extraArgs,
      hub: `127.0.0.1:${w.t.hub.grpcPort}`,
      joinToken: boxToken,
      apiUrl: w.t.baseUrl,
      serial,
      metrics: false,
    });
    boxes.push(box);
    const id = await waitFor(`box ${serial} online`, async () => {
      const r = await w.knex("cloud_boxes").where({ serial_number: serial, status: "online" }).first("id");
      return r?.id as string | undefined;
    });
    return { box, id };
  };
  /** Room on the small test machine: the earlier tests' desktops are stopped. */
  const makeRoom = async () => {
    const running = (await w.knex("instances").where({ status: "running" }).pluck("id")) as string[];
    for (const r of running) await w.client().stopInstance({ id: r });
    for (const r of running) await w.reach(r, "stopped");
  };
  const newInstance = async (name: string) =>
    (
      await w
        .client()
        .createInstance({ instance: { name, cpuCores: 1, memoryGb: 1, storageGb: 1 }, imageId: w.imageId })
    ).instance!.id;

  it("a bound box opens its instance with no login: the hub starts the stopped instance and takes the console path for it", async () => {
    const { box, id } = await boot("SN-BOOT-1");
    // Not bound yet: the login.
    await box.waitForScreen(/Username: /);
    const instanceId = await newInstance("desk-bound");
    await (await admin()).bindCloudBoxes({ bindings: [{ cloudBoxId: id, instanceId }] });
    // The hub's reboot command restarts the box's boot flow: now the startup check finds the binding.
    const { commandId } = await (await admin()).rebootCloudBox({ id, reason: "class starts" });
    await waitFor("the reboot command done", async () => {
      const c = await w.knex("agent_commands").where({ id: commandId }).first("state");
      return c?.state === "succeeded";
    });
    const restartedAt = (await box.waitForScreen(/Restarting: class starts/)).length;
    await w.reach(instanceId, "running");
    const started = await w
      .knex("audit_log")
      .where({ target_id: instanceId, action: "instance.start" })
      .first("actor_username");
    expect(started.actor_username).to.equal("cloud-box:box-SN-BOOT-1");
    // The bound instance's ticket (set on its domain by the agent) reached the viewer as a .vv file.
    const viewer = await waitFor("the viewer started", async () => box.viewer());
    await box.waitForScreen(/Connecting to desk-bound/);
    expect(viewer.args).to.match(/connection\.vv$/);
    expect(viewer.vv).to.include({ section: "[virt-viewer]", type: "vnc", title: "desk-bound" });
    expect(viewer.vv.password).to.match(/^\S{8}$/);
    const vmId = (await w.knex("instances").where({ id: instanceId }).first("virtual_machine_id")).virtual_machine_id;
    const set = await w
      .knex("agent_commands")
      .where({ kind: "set_graphics_password", state: "succeeded" })
      .select("payload");
    const payloads = set.map((c) => JSON.stringify(c.payload));
    expect(payloads.some((p) => p.includes(vmId as string) && p.includes(viewer.vv.password!))).to.equal(true);
    expect(box.screen().slice(restartedAt)).to.not.contain("Username:");
  });

  it("an expired binding makes the box ask for a login; the login lists the user's instances and opens the chosen one", async () => {
    const first = await newInstance("desk-a");
    const second = await newInstance("desk-b");
    const { box, id } = await boot("SN-BOOT-2");
    await box.waitForScreen(/Username: /);
    await (
      await admin()
    ).bindCloudBoxes({
      bindings: [{ cloudBoxId: id, instanceId: first }],
      expireTime: timestampFromDate(new Date(Date.now() + 1500)),
    });
    await waitFor("the expiry loop to end the binding", async () =>
      w.knex("audit_log").where({ action: "cloud_box.binding_expired", target_id: id }).first("id"),
    );
    await (await admin()).rebootCloudBox({ id });
    await box.waitForScreen(/Restarting[\s\S]*Username: /);
    box.type("alice");
    await box.waitForScreen(/Password: /);
    box.type(PASSWORD);
    const screen = await box.waitForScreen(/Instance number: /);
    expect(screen).to.contain("Signed in as alice");
    expect(screen).to.match(/desk-a \[stopped\] \(owner\)/);
    expect(screen).to.match(/desk-b \[stopped\] \(owner\)/);
    // The password never reached the screen.
    expect(screen).to.not.contain(PASSWORD);
    const list = screen.slice(screen.lastIndexOf("Your instances:"));
    const n = /(\d)\) desk-b \[/.exec(list)![1]!;
    box.type(n);
    await box.waitForScreen(/Starting desk-b/);
    await w.reach(second, "running");
    await box.waitForScreen(/Connecting to desk-b/);
    const viewer = await waitFor("the viewer started", async () => box.viewer());
    expect(viewer.vv).to.include({ type: "vnc", title: "desk-b" });
    await box.kill("SIGTERM");
    // A box switched off closes its viewer.
    await waitFor("the viewer closed with the box", async () => !alive(viewer.pid));
  });

  it("a disabled box says so and opens nothing; a wrong password is refused on screen", async () => {
    const { box, id } = await boot("SN-BOOT-3");
    await box.waitForScreen(/Username: /);
    box.type("alice");
    box.type("wrong-password");
    await box.waitForScreen(/Sign-in failed: /);
    await (await admin()).disableCloudBox({ id });
    await (await admin()).rebootCloudBox({ id });
    await box.waitForScreen(/This cloud box is disabled/);
    expect(box.viewer()).to.equal(undefined);
  });

  it("a viewer that fails at once is retried with a growing delay, not a ticket per second", async () => {
    await makeRoom();
    const instanceId = await newInstance("desk-retry");
    const { box, id } = await boot("SN-BOOT-5", ["--viewer-cmd", "false"]);
    await (await admin()).bindCloudBoxes({ bindings: [{ cloudBoxId: id, instanceId }] });
    await (await admin()).rebootCloudBox({ id });
    await box.waitForScreen(/The viewer closed \(exit code 1\)\n\[screen\] Reconnecting in \d+ s/, 180_000);
    await box.waitForScreen(/(Reconnecting in \d+ s[\s\S]*){2}/, 180_000);
  });

  // Last: it stops the hub.
  it("keeps the desktop open when the hub goes away mid-session, and says the hub is unreachable", async () => {
    await makeRoom();
    const instanceId = await newInstance("desk-class");
    const { box, id } = await boot("SN-BOOT-4");
    await (await admin()).bindCloudBoxes({ bindings: [{ cloudBoxId: id, instanceId }] });
    await (await admin()).rebootCloudBox({ id });
    const viewer = await waitFor("the viewer started", async () => box.viewer(), 180_000);
    expect(viewer.vv.title).to.equal("desk-class");
    await w.t.hub.stop();
    await box.waitForScreen(/The hub is unreachable .*; your session stays open/);
    expect(alive(viewer.pid)).to.equal(true);
    expect(box.proc.exitCode).to.equal(null);
    // Powered on while the hub is away: the box retries with backoff and says so.
    await box.kill();
    const again = spawnBox({
      hub: `127.0.0.1:${w.t.hub.grpcPort}`,
      serial: "SN-BOOT-4",
      stateDir: box.stateDir,
      metrics: false,
    });
    boxes.push(again);
    await again.waitForScreen(/The hub is unreachable; retrying in \d+ s[\s\S]*The hub is unreachable; retrying/);
  });
});
