import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { RentalMode } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { waitFor } from "../fleet/support/agent-process.js";
import { buildTestImage, libvirtdAnswers, rfbGreeting } from "../support/libvirt-backends.js";
import { skipIfHeavySuitesRunElsewhere, skipUnlessBackend } from "../support/real-backends.js";
import { AgentWorld } from "./agent-world.js";

const run = promisify(execFile);
const URI = "qemu:///system";
const MARKER = "EDGEHUB-TEST-GUEST-BOOTED";
// QEMU runs as libvirt-qemu: image, cache and instance files live where it can reach them (not under /root).
const IMAGE_DIR = "/var/lib/edgehub-test-image";
const STATE_DIR = "/var/lib/edgehub-test-instances-hub";

// Issue 10's real path: the bootable test image (scripts/build-test-image.sh) uploaded through the
// hub, an instance created and started through the API on a real libvirtd with QEMU/TCG, the guest's
// serial console showing it booted, its VNC port answering with the ticket's password set, then stop
// and delete leaving no domain, no overlay and the machine's allocations at zero.

describe("instances on real libvirtd + QEMU (TCG)", function () {
  this.timeout(600_000);
  let w: AgentWorld;

  before(async function () {
    skipIfHeavySuitesRunElsewhere(this, "the instances-on-QEMU end-to-end suite");
    skipUnlessBackend(this, await libvirtdAnswers(URI), `libvirtd on ${URI} (run scripts/libvirt-dev.sh as root)`);
    const imageFile = await buildTestImage(IMAGE_DIR);
    fs.rmSync(STATE_DIR, { recursive: true, force: true });
    fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
    w = new AgentWorld({
      libvirtUri: URI,
      domainType: "qemu",
      instanceDir: path.join(STATE_DIR, "instances"),
      imageCacheDir: path.join(STATE_DIR, "images"),
      imageFile,
      // The `default` NAT network needs a bridge and dnsmasq a container may not have (scripts/libvirt-dev.sh).
      hubArgs: ["--instance-network", "none"],
    });
    await w.start();
  });
  after(async () => {
    await w?.stop();
    fs.rmSync(STATE_DIR, { recursive: true, force: true, maxRetries: 3 });
  });

  it("boots the uploaded image, answers VNC with a ticket, and leaves nothing after stop and delete", async () => {
    const { instance } = await w
      .client()
      .createInstance({ instance: { name: "qemu-1", cpuCores: 1, memoryGb: 1, storageGb: 1 }, imageId: w.imageId });
    const id = instance!.id;
    await w.client().startInstance({ id, computePoolId: w.site.computePoolId, rentalMode: RentalMode.SHARED });
    await w.reach(id, "running");
    const name = (await w.client().getInstance({ id })).instance!.virtualMachine!.vmName;
    const serial = path.join(STATE_DIR, "instances", name, "serial.log");
    await waitFor(
      "the guest's boot marker on its serial console",
      () => fs.existsSync(serial) && fs.readFileSync(serial, "latin1").includes(MARKER),
      300_000,
      500,
    );

    const ticket = await w.client().createConsoleTicket({ id });
    expect(ticket.password).to.have.length.at.least(8);
    expect(Number(ticket.expireTime!.seconds) * 1000 - Date.now()).to.be.at.most(60_000);
    expect(ticket.port).to.be.greaterThan(0);
    expect(await rfbGreeting(ticket.host || "127.0.0.1", ticket.port)).to.match(/^RFB 003\.00\d/);
    const xml = (await run("virsh", ["-c", URI, "dumpxml", "--security-info", name])).stdout;
    expect(xml)
      .to.contain(`passwd='${ticket.password}'`)
      .and.to.match(/passwdValidTo='/);

    await w.client().stopInstance({ id });
    await w.reach(id, "stopped");
    expect(await w.allocation()).to.deep.equal([0, 0, 0]);
    await w.client().deleteInstance({ id });
    await w.reach(id, "deleted");
    expect(await w.allocation()).to.deep.equal([0, 0, 0]);
    const domains = (await run("virsh", ["-c", URI, "list", "--all", "--name"])).stdout;
    expect(domains).to.not.contain(name);
    expect(fs.existsSync(path.join(STATE_DIR, "instances", name))).to.equal(false);
  });
});
