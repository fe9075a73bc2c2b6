import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import { skipUnlessBackend } from "../support/real-backends.js";
import { DomainSpecSchema, GraphicsProtocol, ImageContentFormat } from "../../gen/edgehub/common/v1/compute_pb.js";
import { fn, libvirtLoadError } from "../../agent/libvirt/bindings.js";
import { LibvirtConnection } from "../../agent/libvirt/connection.js";
import { DomainOps } from "../../agent/libvirt/domain-ops.js";
import { readDomainXml } from "../../agent/libvirt/domain-xml-read.js";
import { buildDomainXml, DomainSpecError, parsePciAddress } from "../../agent/libvirt/domain-xml.js";

const HOSTILE = `x'/><evil a="1"/>&amp;<!--`;

function spec(overrides: MessageInitShape<typeof DomainSpecSchema> = {}) {
  return create(DomainSpecSchema, {
    ...{
      name: "edgehub-0193e0a0-0000-7000-8000-0000000000aa",
      uuid: "0193e0a0-0000-7000-8000-0000000000aa",
      vcpus: 2,
      memoryMib: 256n,
      systemDisk: { image: { sha256: "ab", format: ImageContentFormat.QCOW2 }, sizeGb: 0n },
      graphics: { protocol: GraphicsProtocol.VNC, listen: "127.0.0.1", password: "s3cret" },
      network: "none",
      instanceId: "inst-aa",
    },
    ...(overrides as object),
  });
}

const files = {
  type: "test" as const,
  overlayPath: "/var/lib/edgehub/i/o.qcow2",
  serialLogPath: "/var/lib/edgehub/i/s.log",
};

describe("libvirt domain XML", () => {
  it("parses both nvidia-smi and lspci PCI addresses", () => {
    expect(parsePciAddress("00000000:65:00.0")).to.deep.equal({ domain: 0, bus: 0x65, slot: 0, function: 0 });
    expect(parsePciAddress("0000:b3:1f.7")).to.deep.equal({ domain: 0, bus: 0xb3, slot: 0x1f, function: 7 });
    expect(() => parsePciAddress("65:00.0")).to.throw(DomainSpecError, /gpus.address/);
    expect(() => parsePciAddress("00010000:65:00.0")).to.throw(DomainSpecError, /exceeds/);
  });

  it("writes CPUs, memory, ACPI, the overlay on virtio, GPU hostdevs, VNC, a serial file and the instance id", () => {
    const xml = buildDomainXml(spec({ gpus: [{ address: "00000000:65:00.0" }, { address: "0000:66:00.1" }] }), {
      ...files,
      type: "qemu",
    });
    expect(xml).to.match(/^<domain type='qemu'>/);
    expect(xml).to.include("<vcpu>2</vcpu>").and.include("<memory unit='MiB'>256</memory>");
    expect(xml).to.include("<features>\n    <acpi/>");
    expect(xml).to.include("<source file='/var/lib/edgehub/i/o.qcow2'/>").and.include("bus='virtio'");
    expect(xml).to.include("<address domain='0x0000' bus='0x65' slot='0x00' function='0x0'/>");
    expect(xml).to.include("<address domain='0x0000' bus='0x66' slot='0x00' function='0x1'/>");
    expect(xml).to.include("managed='yes'");
    expect(xml).not.to.include("<interface");
    expect(readDomainXml(xml)).to.deep.equal({
      graphics: { type: "vnc", listen: "127.0.0.1", port: 0, autoport: true },
      serialLogPath: "/var/lib/edgehub/i/s.log",
      overlayPath: "/var/lib/edgehub/i/o.qcow2",
      instanceId: "inst-aa",
    });
  });

  it("puts a NIC on the default network when none is named", () => {
    expect(buildDomainXml(spec({ network: "" }), files)).to.include("<source network='default'/>");
    expect(buildDomainXml(spec({ network: "tenant-7" }), files)).to.include("<source network='tenant-7'/>");
  });

  it("refuses a spec with a bad name, uuid, CPU count, memory or GPU address, naming the field", () => {
    expect(() => buildDomainXml(spec({ name: "../etc" }), files)).to.throw(/name/);
    expect(() => buildDomainXml(spec({ uuid: "nope" }), files)).to.throw(/uuid/);
    expect(() => buildDomainXml(spec({ vcpus: 0 }), files)).to.throw(/vcpus/);
    expect(() => buildDomainXml(spec({ memoryMib: 0n }), files)).to.throw(/memory_mib/);
    expect(() => buildDomainXml(spec({ gpus: [{ address: "bogus" }] }), files)).to.throw(/gpus.address/);
  });

  describe("read back by libvirt (test:///default)", () => {
    let conn: LibvirtConnection;
    before(async function () {
      skipUnlessBackend(this, libvirtLoadError === undefined, `libvirt.so.0 (${libvirtLoadError?.message})`);
      conn = await LibvirtConnection.open("test:///default", { poolSize: 2 });
    });
    after(() => conn.close());

    it("keeps hostile values as values: no element or attribute is injected", async () => {
      const ops = new DomainOps(conn);
      const s = spec({
        uuid: "0193e0a0-0000-7000-8000-0000000000ab",
        name: "edgehub-hostile",
        instanceId: HOSTILE,
        network: HOSTILE,
        graphics: { protocol: GraphicsProtocol.VNC, listen: "127.0.0.1", password: HOSTILE },
      });
      const xml = buildDomainXml(s, { ...files, serialLogPath: `/tmp/${HOSTILE}` });
      const { facts } = await ops.define(s.uuid, xml);
      try {
        expect(facts.instanceId).to.equal(HOSTILE);
        expect(facts.serialLogPath).to.equal(`/tmp/${HOSTILE}`);
        const live = await conn.run(async (c) => {
          const d = await c.domain("lookup", fn.virDomainLookupByName as never, s.name);
          return c.callDomain<string>("xml", d, fn.virDomainGetXMLDesc as never, 1 /* secure: with passwd */);
        });
        expect(live).not.to.include("<evil");
        expect(live).to.include("&lt;evil");
        expect(readDomainXml(live).instanceId).to.equal(HOSTILE);
      } finally {
        await ops.undefine(s.name);
      }
    });
  });
});
