import { expect } from "chai";
import { skipUnlessBackend } from "../support/real-backends.js";
import { fn, libvirtLoadError } from "../../agent/libvirt/bindings.js";
import { LibvirtConnection, type LifecycleEvent } from "../../agent/libvirt/connection.js";
import { DomainOps } from "../../agent/libvirt/domain-ops.js";
import { HandleClosedError, LibvirtError, VIR_ERR } from "../../agent/libvirt/errors.js";
import { allDomainStats } from "../../agent/libvirt/stats.js";

// libvirt's test driver: in process, no daemon; its state lives while any connection is open.
const URI = "test:///default";

function xml(name: string, uuid: string, instanceId = ""): string {
  return `<domain type='test'><name>${name}</name><uuid>${uuid}</uuid>
  <metadata><edgehub:instance xmlns:edgehub='https://edgehub.dev/xmlns/libvirt/domain/1' id='${instanceId}'/></metadata>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os>
  <devices><graphics type='vnc' autoport='yes' listen='127.0.0.1'/></devices></domain>`;
}

const uuid = (n: number) => `0193e0a0-0000-7000-8000-${n.toString(16).padStart(12, "0")}`;

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("libvirt domain operations (test:///default)", () => {
  let conn: LibvirtConnection;
  let ops: DomainOps;
  before(async function () {
    skipUnlessBackend(this, libvirtLoadError === undefined, `libvirt.so.0 (${libvirtLoadError?.message})`);
    conn = await LibvirtConnection.open(URI, { poolSize: 4, events: true });
    ops = new DomainOps(conn);
  });
  after(() => conn.close());

  it("walks a domain through define, start, suspend, resume, shutdown and undefine, each twice", async () => {
    const name = "edgehub-walk";
    const first = await ops.define(uuid(1), xml(name, uuid(1), "inst-1"));
    expect(first.defined).to.equal(true);
    expect(first.facts).to.include({ name, uuid: uuid(1), state: "shutoff", instanceId: "inst-1" });
    // Define again with different XML: the existing domain is left as it is.
    const again = await ops.define(uuid(1), xml(name, uuid(1), "other"));
    expect(again.defined).to.equal(false);
    expect(again.facts.instanceId).to.equal("inst-1");
    for (let i = 0; i < 2; i++) expect((await ops.start(name)).state).to.equal("running");
    expect((await ops.describe(name)).reason).to.equal("booted");
    for (let i = 0; i < 2; i++) expect((await ops.suspend(name)).state).to.equal("paused");
    for (let i = 0; i < 2; i++) expect((await ops.resume(name)).state).to.equal("running");
    const down = await ops.shutdown(name, { timeoutMs: 30_000 });
    expect(down).to.include({ state: "shutoff", forced: false });
    expect((await ops.shutdown(name, { timeoutMs: 30_000 })).state).to.equal("shutoff");
    expect((await ops.undefine(name)).state).to.equal("absent");
    expect((await ops.undefine(name)).state).to.equal("absent");
    expect((await ops.describe(name)).state).to.equal("absent");
  });

  it("destroys a running domain and treats destroying an off one as done; undefine destroys first", async () => {
    const name = "edgehub-destroy";
    await ops.define(uuid(2), xml(name, uuid(2)));
    await ops.start(name);
    expect(await ops.destroy(name)).to.include({ state: "shutoff", reason: "destroyed" });
    expect((await ops.destroy(name)).state).to.equal("shutoff");
    await ops.start(name);
    expect((await ops.undefine(name)).state).to.equal("absent");
  });

  it("reports libvirt's error codes: no domain (42), name taken by another uuid (9), bad XML, suspend when off", async () => {
    const missing = await rejection(ops.start("edgehub-missing"));
    expect(missing).to.be.instanceOf(LibvirtError);
    expect((missing as LibvirtError).code).to.equal(VIR_ERR.NO_DOMAIN);
    expect(missing.message).to.match(/edgehub-missing/);
    await ops.define(uuid(3), xml("edgehub-taken", uuid(3)));
    try {
      const taken = (await rejection(ops.define(uuid(4), xml("edgehub-taken", uuid(4))))) as LibvirtError;
      expect(taken.code).to.equal(VIR_ERR.OPERATION_FAILED);
      expect(taken.message).to.match(/already/);
    } finally {
      await ops.undefine("edgehub-taken");
    }
    const bad = (await rejection(ops.define(uuid(5), "<domain type='test'><name>x"))) as LibvirtError;
    expect(bad).to.be.instanceOf(LibvirtError);
    expect(bad.code).to.equal(35); // VIR_ERR_XML_DETAIL: the parser's message with line and column
    const suspendOff = (await rejection(
      ops.define(uuid(6), xml("edgehub-off", uuid(6))).then(() => ops.suspend("edgehub-off")),
    )) as LibvirtError;
    // The test driver says "not running" with VIR_ERR_INTERNAL_ERROR (QEMU says OPERATION_INVALID).
    expect(suspendOff).to.be.instanceOf(LibvirtError);
    expect(suspendOff.message).to.match(/not running/);
    await ops.undefine("edgehub-off");
  });

  it("writes a console password into a test-driver domain's definition (no device updates there); hot-plug is refused (code 3)", async () => {
    await ops.define(uuid(7), xml("edgehub-gfx", uuid(7)));
    try {
      // The persistent definition with secrets (VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE).
      const secureXml = () =>
        ops.conn.run(async (c) => {
          const d = await c.domain("lookup", fn.virDomainLookupByName as never, "edgehub-gfx");
          return c.callDomain<string>("xml", d, fn.virDomainGetXMLDesc as never, 1 | 2);
        });
      expect(await secureXml()).not.to.contain("passwd=");
      await ops.start("edgehub-gfx");
      const until = new Date(Date.now() + 60_000);
      const facts = await ops.setGraphicsPassword("edgehub-gfx", "pw-7", until);
      expect(facts.state).to.equal("running");
      expect(facts.graphics?.type).to.equal("vnc");
      expect(await secureXml()).to.match(/<graphics [^>]*passwd='pw-7'/);
      const attach = (await rejection(
        ops.attachDevice("edgehub-gfx", "<disk type='file'><source file='/x'/><target dev='vdb'/></disk>", 2),
      )) as LibvirtError;
      expect(attach.code).to.equal(VIR_ERR.NO_SUPPORT);
    } finally {
      await ops.undefine("edgehub-gfx");
    }
  });

  it("lists every domain, edgehub's and the driver's own, and reads their counters", async () => {
    await ops.define(uuid(8), xml("edgehub-listed", uuid(8), "inst-8"));
    await ops.start("edgehub-listed");
    try {
      const listed = await ops.list();
      expect(listed.map((d) => d.name)).to.include.members(["test", "edgehub-listed"]);
      expect(listed.find((d) => d.name === "edgehub-listed")).to.include({ instanceId: "inst-8", state: "running" });
      expect(listed.find((d) => d.name === "test")!.instanceId).to.equal("");
      const stats = await allDomainStats(conn);
      expect(stats.find((s) => s.name === "edgehub-listed")).to.include({ uuid: uuid(8), state: "running" });
    } finally {
      await ops.undefine("edgehub-listed");
    }
    const info = await conn.nodeInfo();
    expect(info.cpus).to.be.greaterThan(0);
    expect(info.memoryKib).to.be.greaterThan(0);
  });

  it("delivers lifecycle events through libvirt's event loop", async () => {
    const seen: LifecycleEvent[] = [];
    const done = new Promise<void>((resolve) =>
      conn.onLifecycle((e) => {
        if (e.name !== "edgehub-events") return;
        seen.push(e);
        if (e.eventName === "undefined/removed") resolve();
      }),
    );
    await ops.define(uuid(9), xml("edgehub-events", uuid(9)));
    await ops.start("edgehub-events");
    await ops.destroy("edgehub-events");
    await ops.undefine("edgehub-events");
    await done;
    expect(seen.map((e) => e.eventName)).to.deep.equal([
      "defined/added",
      "started/booted",
      "stopped/destroyed",
      "undefined/removed",
    ]);
    expect(seen.every((e) => e.uuid === uuid(9))).to.equal(true);
  });

  it("runs many calls concurrently off the JS thread, each with its own error", async () => {
    const n = 40;
    let settled = 0;
    const all = Promise.all(
      Array.from({ length: n }, (_, i) =>
        ops
          .define(uuid(100 + i), xml(`edgehub-c${i}`, uuid(100 + i)))
          .then(() => ops.start(`edgehub-c${i}`))
          .finally(() => settled++),
      ),
    );
    // The calls run on koffi's worker threads: the JS thread gets control back before they finish.
    await new Promise((r) => setImmediate(r));
    expect(settled).to.be.lessThan(n);
    await all;
    // Failures interleaved with successes keep their own codes (errors are read per pooled connection).
    const mixed = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => (i % 2 ? ops.start(`edgehub-c${i}`) : ops.start(`edgehub-nope${i}`))),
    );
    mixed.forEach((r, i) => {
      if (i % 2) expect(r.status).to.equal("fulfilled");
      else expect(((r as PromiseRejectedResult).reason as LibvirtError).code).to.equal(VIR_ERR.NO_DOMAIN);
    });
    await Promise.all(Array.from({ length: n }, (_, i) => ops.undefine(`edgehub-c${i}`)));
    expect((await ops.list()).filter((d) => d.name.startsWith("edgehub-c"))).to.have.length(0);
  });

  it("refuses use after close instead of touching freed handles", async () => {
    const other = await LibvirtConnection.open(URI, { poolSize: 1 });
    const otherOps = new DomainOps(other);
    let leaked: Parameters<Parameters<LibvirtConnection["run"]>[0]>[0] | undefined;
    await other.run(async (c) => {
      leaked = c;
    });
    // A lent connection kept past its operation is refused, and so is a domain handle freed with it.
    const handle = await other.run(async (c) => c.domain("lookup", fn.virDomainLookupByName as never, "test"));
    expect(handle.freed).to.equal(true);
    expect(() => handle.name()).to.throw(HandleClosedError);
    expect(await rejection(leaked!.call("late call", (() => 0) as never))).to.be.instanceOf(HandleClosedError);
    await other.close();
    expect(await rejection(otherOps.describe("test"))).to.be.instanceOf(HandleClosedError);
    expect(await rejection(other.nodeInfo())).to.be.instanceOf(HandleClosedError);
    await other.close(); // twice is fine
  });
});
