import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import { libvirtLoadError } from "../../agent/libvirt/bindings.js";
import { qemuImgAnswers } from "../support/libvirt-backends.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import pino from "pino";
import {
  DomainState,
  GraphicsProtocol,
  ImageContentFormat,
  type DomainReport,
} from "../../gen/edgehub/common/v1/compute_pb.js";
import {
  CommandPayloadSchema,
  type CommandPayload,
  type CommandResult,
} from "../../gen/edgehub/common/v1/command_pb.js";
import type { CommandContext, CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";
import { createComputeRole, type ComputeRole } from "../../agent/executors/domain-role.js";
import { imageCacheUnavailable, type EnsureImage } from "../../agent/executors/domain-overlay.js";

const VM = "0193e0a0-0000-7000-8000-00000000e001";
const NAME = `edgehub-${VM}`;

function ctx(): CommandContext {
  return { commandId: "c", signal: new AbortController().signal, deadline: new Date(Date.now() + 60_000) };
}

async function run(
  role: ComputeRole,
  payload: MessageInitShape<typeof CommandPayloadSchema>["kind"],
): Promise<CommandResult> {
  const p = create(CommandPayloadSchema, { kind: payload });
  const executor = role.executors[p.kind.case!] as CommandExecutor;
  return executor(p.kind.value as never, ctx());
}

const domain = (r: CommandResult): DomainReport => {
  if (r.kind.case !== "domain") throw new Error(`expected a domain report, got ${r.kind.case}`);
  return r.kind.value;
};

describe("compute agent domain executors (test:///default)", () => {
  let dir: string;
  let base: string;
  let fetches: number;
  let role: ComputeRole;
  const ensureImage: EnsureImage = async () => ({ path: base, fetched: fetches++ === 0 });
  const image = { imageVersionId: "v1", sha256: "ab".repeat(32), sizeBytes: 1n, format: ImageContentFormat.QCOW2 };
  const define = {
    case: "defineDomain" as const,
    value: {
      spec: {
        name: NAME,
        uuid: VM,
        vcpus: 1,
        memoryMib: 64n,
        systemDisk: { image, sizeGb: 1n },
        graphics: { protocol: GraphicsProtocol.VNC, listen: "127.0.0.1", password: "pw" },
        network: "none",
        instanceId: "inst-e1",
      },
    },
  };

  before(function () {
    skipUnlessBackend(this, libvirtLoadError === undefined, `libvirt.so.0 (${libvirtLoadError?.message})`);
    skipUnlessBackend(this, qemuImgAnswers(), "qemu-img (qemu-utils; scripts/libvirt-dev.sh installs it)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-exec-"));
    base = path.join(dir, "base.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", base, "64M"]);
  });
  beforeEach(() => {
    fetches = 0;
    role = createComputeRole({
      libvirtUri: "test:///default",
      domainType: "test",
      instanceDir: path.join(dir, "instances"),
      ensureImage,
      log: pino({ level: "silent" }),
    });
  });
  afterEach(() => role.close());
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("defines once: the overlay is a qcow2 on the cached base, a second define changes nothing", async () => {
    const first = domain(await run(role, define));
    expect(first).to.include({ name: NAME, uuid: VM, state: DomainState.SHUTOFF, instanceId: "inst-e1" });
    expect(first.overlayPath).to.equal(path.join(dir, "instances", NAME, "system.qcow2"));
    const info = JSON.parse(
      execFileSync("qemu-img", ["info", "--output=json", first.overlayPath], { encoding: "utf8" }),
    );
    expect(info["backing-filename"]).to.equal(base);
    expect(info["virtual-size"]).to.equal(1024 ** 3); // grown from the 64 MiB base to size_gb
    const stat = fs.statSync(first.overlayPath);
    const second = domain(await run(role, define));
    expect(second).to.deep.equal(first);
    expect(fs.statSync(first.overlayPath).mtimeMs).to.equal(stat.mtimeMs);

    const started = domain(await run(role, { case: "startDomain", value: { name: NAME } }));
    expect(started).to.include({
      state: DomainState.RUNNING,
      reason: "booted",
      graphicsProtocol: GraphicsProtocol.VNC,
    });
    const listed = await run(role, { case: "listDomains", value: {} });
    expect(listed.kind.case === "domains" && listed.kind.value.domains.map((d) => d.name)).to.include(NAME);
    const stats = await role.sampleDomains();
    expect(stats.find((s) => s.uuid === VM)?.state).to.equal(DomainState.RUNNING);
    expect(domain(await run(role, { case: "suspendDomain", value: { name: NAME } })).state).to.equal(
      DomainState.PAUSED,
    );
    expect(domain(await run(role, { case: "resumeDomain", value: { name: NAME } })).state).to.equal(
      DomainState.RUNNING,
    );
    const off = domain(await run(role, { case: "shutdownDomain", value: { name: NAME, timeoutMs: 30_000 } }));
    expect(off.state).to.equal(DomainState.SHUTOFF);

    const gone = domain(await run(role, { case: "undefineDomain", value: { name: NAME } }));
    expect(gone.state).to.equal(DomainState.ABSENT);
    expect(fs.existsSync(path.join(dir, "instances", NAME))).to.equal(false);
    expect(domain(await run(role, { case: "undefineDomain", value: { name: NAME } })).state).to.equal(
      DomainState.ABSENT,
    );
  });

  it("sends domain.lifecycle events with the instance id from the metadata", async () => {
    const events: { kind: string; attributes: Record<string, string> }[] = [];
    const undefined_ = new Promise<void>((resolve) =>
      role.reportLifecycle((e) => {
        events.push(e);
        if (e.attributes.event === "undefined/removed") resolve();
      }),
    );
    await run(role, define);
    await run(role, { case: "startDomain", value: { name: NAME } });
    await run(role, { case: "destroyDomain", value: { name: NAME } });
    await run(role, { case: "undefineDomain", value: { name: NAME } });
    await undefined_;
    const mine = events.filter((e) => e.attributes.uuid === VM);
    expect(mine.map((e) => [e.kind, e.attributes.state, e.attributes.reason])).to.deep.include.members([
      ["domain.lifecycle", "running", "booted"],
      ["domain.lifecycle", "shutoff", "destroyed"],
      ["domain.lifecycle", "absent", "removed"],
    ]);
    expect(mine.map((e) => [e.attributes.event, e.attributes.instance_id, e.attributes.name])).to.deep.equal(
      ["defined/added", "started/booted", "stopped/destroyed", "undefined/removed"].map((ev) => [ev, "inst-e1", NAME]),
    );
  });

  it("refuses bad specs by field and fails plainly without an image cache", async () => {
    const bad = { ...define, value: { spec: { ...define.value.spec, name: "../../etc" } } };
    try {
      await run(role, bad);
      expect.fail("accepted a path in the name");
    } catch (err) {
      expect((err as Error).message).to.match(/name/);
    }
    const noCache = createComputeRole({
      libvirtUri: "test:///default",
      domainType: "test",
      instanceDir: path.join(dir, "instances"),
      ensureImage: imageCacheUnavailable,
      log: pino({ level: "silent" }),
    });
    try {
      await run(noCache, define);
      expect.fail("defined without an image");
    } catch (err) {
      expect((err as Error).message).to.match(/image cache not available/);
    } finally {
      await noCache.close();
    }
    expect(fs.existsSync(path.join(dir, "instances", NAME))).to.equal(false);
  });
});
