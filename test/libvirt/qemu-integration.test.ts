import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import pino from "pino";
import { CommandPayloadSchema, type CommandResult } from "../../gen/edgehub/common/v1/command_pb.js";
import { DomainState, GraphicsProtocol, ImageContentFormat } from "../../gen/edgehub/common/v1/compute_pb.js";
import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";
import { createComputeRole, type ComputeRole } from "../../agent/executors/domain-role.js";
import type { DomainLifecycleEvent } from "../../agent/libvirt/lifecycle-reporter.js";
import { buildTestImage, libvirtdAnswers, rfbGreeting } from "../support/libvirt-backends.js";
import { skipIfHeavySuitesRunElsewhere, skipUnlessBackend } from "../support/real-backends.js";

const run = promisify(execFile);
const URI = "qemu:///system";
const MARKER = "EDGEHUB-TEST-GUEST-BOOTED";
// QEMU runs as libvirt-qemu: image and instance files live where it can reach them (not under /root).
const IMAGE_DIR = "/var/lib/edgehub-test-image";
const INSTANCE_DIR = "/var/lib/edgehub-test-instances";
const VM = "0193e0a0-0000-7000-8000-0000000091e1";
const NAME = `edgehub-${VM}`;

/** Polls until `check` holds; the suite's timeout is the only deadline (no timing assertions). */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("compute agent on real libvirtd + QEMU/TCG (qemu:///system)", function () {
  this.timeout(600_000);
  let role: ComputeRole;
  let base: string;
  const events: DomainLifecycleEvent[] = [];

  const exec = async (payload: MessageInitShape<typeof CommandPayloadSchema>["kind"]): Promise<CommandResult> => {
    const p = create(CommandPayloadSchema, { kind: payload });
    const signal = new AbortController().signal;
    return (role.executors[p.kind.case!] as CommandExecutor)(p.kind.value as never, {
      commandId: "it",
      signal,
      deadline: new Date(Date.now() + 600_000),
    });
  };
  const report = (r: CommandResult) => {
    if (r.kind.case !== "domain") throw new Error(`expected a domain report, got ${r.kind.case}`);
    return r.kind.value;
  };

  before(async function () {
    skipIfHeavySuitesRunElsewhere(this, "the QEMU/TCG integration suite");
    skipUnlessBackend(this, await libvirtdAnswers(URI), `libvirtd on ${URI} (run scripts/libvirt-dev.sh as root)`);
    // The bootable test disk of scripts/build-test-image.sh (cached after the first build).
    base = await buildTestImage(IMAGE_DIR);
    fs.mkdirSync(INSTANCE_DIR, { recursive: true, mode: 0o755 });
    role = createComputeRole({
      libvirtUri: URI,
      domainType: "qemu", // /dev/kvm is not usable here: TCG
      instanceDir: INSTANCE_DIR,
      ensureImage: async () => ({ path: base, fetched: false }),
      log: pino({ level: "silent" }),
    });
    role.reportLifecycle((e) => events.push(e));
    await exec({ case: "undefineDomain", value: { name: NAME } }); // a previous run's leftovers
  });
  after(async () => {
    if (!role) return;
    await exec({ case: "undefineDomain", value: { name: NAME } }).catch(() => {});
    await role.close();
  });

  it("boots a guest from a qcow2 overlay, serves VNC, sets a console password, shuts down by ACPI and cleans up", async () => {
    const defined = report(
      await exec({
        case: "defineDomain",
        value: {
          spec: {
            name: NAME,
            uuid: VM,
            vcpus: 1,
            memoryMib: 256n,
            systemDisk: { image: { imageVersionId: "v", sha256: "x", format: ImageContentFormat.QCOW2 }, sizeGb: 0n },
            graphics: { protocol: GraphicsProtocol.VNC, listen: "127.0.0.1", password: "initial1" },
            network: "none",
            instanceId: "inst-qemu",
          },
        },
      }),
    );
    expect(defined).to.include({ state: DomainState.SHUTOFF, instanceId: "inst-qemu" });
    const started = report(await exec({ case: "startDomain", value: { name: NAME } }));
    expect(started.state).to.equal(DomainState.RUNNING);
    expect(started.graphicsPort).to.be.greaterThan(0);
    expect(started.graphicsHost).to.equal("127.0.0.1");

    const log = started.serialLogPath;
    await until("the guest's boot marker", async () =>
      fs.existsSync(log) && fs.readFileSync(log, "latin1").includes(MARKER) ? true : undefined,
    );
    expect(await rfbGreeting("127.0.0.1", started.graphicsPort)).to.match(/^RFB 003\.00\d/);

    const withPassword = report(
      await exec({
        case: "setGraphicsPassword",
        value: { name: NAME, password: "ticket12", validUntil: timestampFromDate(new Date(Date.now() + 60_000)) },
      }),
    );
    expect(withPassword.graphicsPort).to.equal(started.graphicsPort);
    const { stdout: secureXml } = await run("virsh", ["-c", URI, "dumpxml", "--security-info", NAME]);
    expect(secureXml)
      .to.match(/passwd='ticket12'/)
      .and.match(/passwdValidTo='/);

    const stats = await role.sampleDomains();
    const mine = stats.find((s) => s.uuid === VM)!;
    expect(mine.state).to.equal(DomainState.RUNNING);
    expect(mine.cpuTimeNs > 0n).to.equal(true);
    expect(mine.diskReadBytes > 0n).to.equal(true); // the guest booted from its disk

    const off = report(await exec({ case: "shutdownDomain", value: { name: NAME, timeoutMs: 120_000 } }));
    expect(off.state).to.equal(DomainState.SHUTOFF);

    const gone = report(await exec({ case: "undefineDomain", value: { name: NAME } }));
    expect(gone.state).to.equal(DomainState.ABSENT);
    expect(fs.existsSync(path.join(INSTANCE_DIR, NAME))).to.equal(false);
    const { stdout: all } = await run("virsh", ["-c", URI, "list", "--all", "--name"]);
    expect(all.split("\n")).not.to.include(NAME);

    await until("the undefined event", async () =>
      events.some((e) => e.attributes.uuid === VM && e.attributes.state === "absent") ? true : undefined,
    );
    const seen = events.filter((e) => e.attributes.uuid === VM).map((e) => e.attributes.event);
    expect(seen).to.include.members(["defined/added", "started/booted", "stopped/shutdown", "undefined/removed"]);
    expect(
      events.filter((e) => e.attributes.uuid === VM).every((e) => e.attributes.instance_id === "inst-qemu"),
    ).to.equal(true);
  });
});
