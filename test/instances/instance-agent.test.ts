import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { InstanceStatus, RentalMode } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { waitFor } from "../fleet/support/agent-process.js";
import { libvirtTestDriverUsable } from "../support/libvirt-backends.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import { startTestDriverWorld, stopTestDriverWorld, type AgentWorld } from "./agent-world.js";

// The whole path with real programs: a hub, a compute agent process on libvirt's test:///default
// driver, image bytes uploaded through the hub and fetched by the agent over its mTLS link, and
// the instance driven only through the API.

describe("instances on a real compute agent (libvirt test:///default)", function () {
  this.timeout(300_000);
  let dir = "";
  let w: AgentWorld;

  before(async function () {
    skipUnlessBackend(this, libvirtTestDriverUsable(), "libvirt.so.0 and qemu-img (apt install libvirt0 qemu-utils)");
    ({ w, dir } = await startTestDriverWorld("inst-agent"));
  });
  after(async () => {
    await stopTestDriverWorld(w, dir);
  });

  it("create → start → running (on the agent's report) → console ticket (password in the test domain's definition) → stop → delete, allocations back to zero", async () => {
    const { instance } = await w
      .client()
      .createInstance({ instance: { name: "desk-1", cpuCores: 1, memoryGb: 1, storageGb: 1 }, imageId: w.imageId });
    const id = instance!.id;
    expect(instance!.status).to.equal(InstanceStatus.STOPPED);

    const started = await w
      .client()
      .startInstance({ id, computePoolId: w.site.computePoolId, rentalMode: RentalMode.SHARED });
    expect(started.instance!.status).to.equal(InstanceStatus.INITIALIZING);
    expect(started.instance!.computeMachineId).to.equal(w.machineId);
    expect((await w.allocation())[0]).to.equal(1);
    await w.reach(id, "running");
    const running = (await w.client().getInstance({ id })).instance!;
    const domainName = running.virtualMachine!.vmName;
    expect(fs.existsSync(path.join(dir, "instances", domainName, "system.qcow2"))).to.equal(true);

    // The agent's listing after it connected: test:///default's own domain "test" is not the hub's;
    // it is reported as a warning and left alone.
    const unknown = await waitFor("the unknown domain to be reported", async () => {
      const row = (await w.knex("fleet_events").where({ kind: "unknown_domain" }).first("message", "severity")) as
        { message: string; severity: string } | undefined;
      return row;
    });
    expect(unknown.message).to.match(/^Domain test \(/);
    expect(unknown.severity).to.equal("warning");

    // libvirt's test driver has no device updates: the agent writes the one-time password into the
    // domain's definition instead (instance-qemu.test.ts sets it live on a real QEMU domain and a VNC
    // client proves it). The ticket comes back through the same path; the driver serves no console
    // port, so the ticket names port 0.
    const asked = Date.now();
    const ticket = await w.client().createConsoleTicket({ id });
    expect(ticket.host).to.equal("127.0.0.1");
    expect(ticket.port).to.equal(0);
    expect(ticket.password).to.match(/^\S{8}$/); // VNC reads 8 characters
    const expires = Number(ticket.expireTime!.seconds) * 1000;
    expect(expires - asked).to.be.within(1, 61_000);

    await w.client().stopInstance({ id });
    await w.reach(id, "stopped");
    expect(await w.allocation()).to.deep.equal([0, 0, 0]);

    await w.client().deleteInstance({ id });
    await w.reach(id, "deleted");
    expect(await w.allocation()).to.deep.equal([0, 0, 0]);
    expect(fs.existsSync(path.join(dir, "instances", domainName))).to.equal(false);
    const kinds = (await w.knex("agent_commands").orderBy("created_at").pluck("kind")) as string[];
    expect(kinds.filter((k) => k === "define_domain")).to.have.length(1);
    expect(kinds).to.include.members(["start_domain", "set_graphics_password", "shutdown_domain", "undefine_domain"]);
    expect(kinds.filter((k) => k === "undefine_domain")).to.have.length(1); // the stranger was never touched
  });

  it("a second instance from the same version uses the cached image: no second fetch", async () => {
    const cached = () => {
      const dirOf = path.join(dir, "images", "images");
      const files = fs.readdirSync(dirOf);
      expect(files).to.have.length(1);
      return fs.statSync(path.join(dirOf, files[0]!)).ino;
    };
    const before = cached();
    const ids: string[] = [];
    for (const name of ["desk-2", "desk-3"]) {
      const { instance } = await w
        .client()
        .createInstance({ instance: { name, cpuCores: 1, memoryGb: 1, storageGb: 1 }, imageId: w.imageId });
      ids.push(instance!.id);
      await w.client().startInstance({ id: instance!.id, computePoolId: w.site.computePoolId });
    }
    for (const id of ids) await w.reach(id, "running");
    // A fetch writes a partial file and renames it into place: the same inode means no fetch happened.
    expect(cached()).to.equal(before);
    expect(fs.readdirSync(path.join(dir, "images", "partial"))).to.deep.equal([]);
    for (const id of ids) await w.client().deleteInstance({ id });
    for (const id of ids) await w.reach(id, "deleted");
    expect(await w.allocation()).to.deep.equal([0, 0, 0]);
  });
});
