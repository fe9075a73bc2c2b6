import { expect } from "chai";
import {
  diskTargetXml,
  domainDisks,
  rbdClientConf,
  rbdDiskXml,
  type RbdDiskSpec,
} from "../../agent/libvirt/rbd-disk-xml.js";

// The compute agent's RBD disk element and Ceph client conf (agent/libvirt/rbd-disk-xml.ts): what
// goes to libvirt is validated and escaped; real libvirt accepting it is rbd-attach-qemu.test.ts.
describe("RBD data disk XML for libvirt", () => {
  const spec: RbdDiskSpec = {
    pool: "private-data-disks",
    image: "disk-0193e0a0-0000-7000-8000-000000000001",
    targetDev: "vdb",
    readOnly: false,
    shareable: false,
    clientConfPath: "/var/lib/edgehub/instances/.rbd-clients/abc.conf",
    authUser: "",
    secretUuid: "",
  };

  it("builds a raw, cache=none network disk with the client conf and no <host> (monitors stay in Ceph's v2 syntax)", () => {
    const xml = rbdDiskXml(spec);
    expect(xml).to.contain("<disk type='network' device='disk'>");
    expect(xml).to.contain("<driver name='qemu' type='raw' cache='none'/>");
    expect(xml).to.contain(`<source protocol='rbd' name='private-data-disks/${spec.image}'>`);
    expect(xml).to.contain(`<config file='${spec.clientConfPath}'/>`);
    expect(xml).to.contain("<target dev='vdb' bus='virtio'/>");
    expect(xml)
      .to.not.contain("<host")
      .and.not.contain("<readonly/>")
      .and.not.contain("<shareable/>")
      .and.not.contain("<auth");
  });

  it("marks shared disks read-only and shareable, and names the cephx secret", () => {
    const xml = rbdDiskXml({
      ...spec,
      readOnly: true,
      shareable: true,
      authUser: "edgehub-disks",
      secretUuid: "0193e0a0-0000-7000-8000-0000000000aa",
    });
    expect(xml).to.contain("<readonly/>").and.contain("<shareable/>");
    expect(xml).to.contain("<auth username='edgehub-disks'>");
    expect(xml).to.contain("<secret type='ceph' uuid='0193e0a0-0000-7000-8000-0000000000aa'/>");
  });

  it("refuses names that could break out of pool/image or the target, with the field named", () => {
    expect(() => rbdDiskXml({ ...spec, pool: "a/b" })).to.throw(/image\.pool/);
    expect(() => rbdDiskXml({ ...spec, image: "x' dev='vda" })).to.throw(/image\.image/);
    expect(() => rbdDiskXml({ ...spec, targetDev: "vda" })).to.throw(/target_dev.*vdb…vdz/);
    expect(() => rbdDiskXml({ ...spec, secretUuid: "nope" })).to.throw(/secret_uuid/);
    expect(() => diskTargetXml("sda")).to.throw(/target_dev/);
  });

  it("writes a client conf that fails fast and keeps v2 monitor addresses", () => {
    const conf = rbdClientConf({
      monHosts: ["v2:10.0.0.1:3300", "[v2:10.0.0.2:3300,v1:10.0.0.2:6789]"],
      authNone: true,
    });
    expect(conf).to.contain("mon host = v2:10.0.0.1:3300,[v2:10.0.0.2:3300,v1:10.0.0.2:6789]");
    expect(conf).to.contain("client mount timeout = 5").and.contain("auth client required = none");
    expect(rbdClientConf({ monHosts: ["v2:10.0.0.1:3300"], authNone: false })).to.not.contain("auth client required");
    expect(() => rbdClientConf({ monHosts: [], authNone: true })).to.throw(/mon_hosts/);
    expect(() => rbdClientConf({ monHosts: ["10.0.0.1\nkeyring = /etc/x"], authNone: true })).to.throw(/mon_hosts/);
  });

  it("reads back the disks of a domain XML as libvirt serialises it", () => {
    const xml = `<domain><devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/system.qcow2'/><target dev='vda' bus='virtio'/></disk>
      <disk type='network' device='disk'><source protocol='rbd' name='p/img'><config file='/c.conf'/></source><target dev='vdc' bus='virtio'/><readonly/><shareable/></disk>
    </devices></domain>`;
    expect(domainDisks(xml)).to.deep.equal([
      { targetDev: "vda", source: "/i/system.qcow2", protocol: "", readOnly: false },
      { targetDev: "vdc", source: "p/img", protocol: "rbd", readOnly: true },
    ]);
  });
});
