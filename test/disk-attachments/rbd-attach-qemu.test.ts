import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import pino from "pino";
import { CommandPayloadSchema, type CommandResult } from "../../gen/edgehub/common/v1/command_pb.js";
import { GraphicsProtocol, ImageContentFormat } from "../../gen/edgehub/common/v1/compute_pb.js";
import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";
import { createComputeRole, type ComputeRole } from "../../agent/executors/domain-role.js";
import {
  CEPH_POOLS,
  cephAnswers,
  cephxCluster,
  plainCluster,
  rbdCli,
  rbdCreate,
  rbdPurge,
  requireCeph,
  uniqueImageName,
} from "../support/ceph-backends.js";
import { buildTestImage, libvirtdAnswers } from "../support/libvirt-backends.js";
import { skipUnlessBackend } from "../support/real-backends.js";

// The must-show of issue 13: RBD data disks from the real single-node Ceph (scripts/ceph-dev.sh) on
// real libvirtd + QEMU/TCG domains, through the compute agent's attach_disk / detach_disk
// executors. Checked independently: `virsh dumpxml` (definition and running domain), `rbd status`
// (QEMU's watch on the image), and the guest kernel's own log of the new virtio disk.

const run = promisify(execFile);
const URI = "qemu:///system";
const POOL = CEPH_POOLS.standard;
const IMAGE_DIR = "/var/lib/edgehub-test-image";
const INSTANCE_DIR = "/var/lib/edgehub-test-attach-instances";
const MARKER = "EDGEHUB-TEST-GUEST-BOOTED";
const VMS = ["0193e0a0-0000-7000-8000-0000000d15c1", "0193e0a0-0000-7000-8000-0000000d15c2"];
const NAMES = VMS.map((v) => `edgehub-${v}`);
const QEMU_RBD = "/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so";

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const virsh = async (...args: string[]) => (await run("virsh", ["-c", URI, ...args])).stdout;
const disksIn = (xml: string) =>
  [...xml.matchAll(/<disk type='network'[\s\S]*?<\/disk>/g)].map((m) => ({
    source: /<source protocol='rbd' name='([^']+)'/.exec(m[0])?.[1],
    target: /<target dev='([^']+)'/.exec(m[0])?.[1],
    readOnly: m[0].includes("<readonly/>"),
    shareable: m[0].includes("<shareable/>"),
    conf: /<config file='([^']+)'/.exec(m[0])?.[1],
  }));
/** Clients with a watch on the image (QEMU holds one on an image it opened read-write). */
const watchers = async (image: string) =>
  (
    (
      JSON.parse(await rbdCli(plainCluster, ["status", `${POOL}/${image}`, "--format", "json"])) as {
        watchers: unknown[];
      }
    ).watchers ?? []
  ).length;

describe("RBD data disks on real libvirtd + QEMU/TCG with the real Ceph (attach_disk / detach_disk)", function () {
  this.timeout(600_000);
  let role: ComputeRole;
  const images = [uniqueImageName("attach"), uniqueImageName("shared")];
  const cluster = { monHosts: [plainCluster.monHost], authUser: "", secretUuid: "" };

  const exec = async (payload: MessageInitShape<typeof CommandPayloadSchema>["kind"]): Promise<CommandResult> => {
    const p = create(CommandPayloadSchema, { kind: payload });
    return (role.executors[p.kind.case!] as CommandExecutor)(p.kind.value as never, {
      commandId: "it",
      signal: new AbortController().signal,
      deadline: new Date(Date.now() + 600_000),
    });
  };
  const disk = (r: CommandResult) => {
    if (r.kind.case !== "attachedDisk") throw new Error(`expected an attached disk report, got ${r.kind.case}`);
    return { attached: r.kind.value.attached, live: r.kind.value.live, target: r.kind.value.targetDev };
  };
  const attach = (
    name: string,
    image: string,
    targetDev: string,
    o: { readOnly?: boolean; shareable?: boolean } = {},
  ) =>
    exec({
      case: "attachDisk",
      value: { domainName: name, image: { pool: POOL, image }, cluster, targetDev, live: true, ...o },
    }).then(disk);
  const define = (k: number) =>
    exec({
      case: "defineDomain",
      value: {
        spec: {
          name: NAMES[k]!,
          uuid: VMS[k]!,
          vcpus: 1,
          memoryMib: 256n,
          systemDisk: { image: { imageVersionId: "v", sha256: "x", format: ImageContentFormat.QCOW2 }, sizeGb: 0n },
          graphics: { protocol: GraphicsProtocol.VNC, listen: "127.0.0.1", password: "initial1" },
          network: "none",
          instanceId: `inst-attach-${k}`,
        },
      },
    });
  const serial = (k: number) => `${INSTANCE_DIR}/${NAMES[k]}/serial.log`;
  const booted = (k: number) =>
    until(`guest ${k} booted`, async () => (fs.readFileSync(serial(k), "latin1").includes(MARKER) ? true : undefined));

  before(async function () {
    await requireCeph(this, plainCluster, "RBD attach on QEMU");
    skipUnlessBackend(this, await libvirtdAnswers(URI), `libvirtd on ${URI} (run scripts/libvirt-dev.sh as root)`);
    skipUnlessBackend(
      this,
      fs.existsSync(QEMU_RBD),
      `QEMU's RBD block driver ${QEMU_RBD} (apt-get install qemu-block-extra)`,
    );
    const base = await buildTestImage(IMAGE_DIR);
    fs.mkdirSync(INSTANCE_DIR, { recursive: true, mode: 0o755 });
    role = createComputeRole({
      libvirtUri: URI,
      domainType: "qemu",
      instanceDir: INSTANCE_DIR,
      ensureImage: async () => ({ path: base, fetched: false }),
      log: pino({ level: "silent" }),
    });
    for (const n of NAMES) await exec({ case: "undefineDomain", value: { name: n } });
    for (const i of images) await rbdCreate(plainCluster, POOL, i, 64 << 20);
  });
  after(async () => {
    if (!role) return;
    for (const n of NAMES) await exec({ case: "undefineDomain", value: { name: n } }).catch(() => {});
    await role.close();
    for (const i of images) await rbdPurge(plainCluster, POOL, i).catch(() => {});
  });

  it("cold-attaches to a shut-off domain's definition (once, however often asked) and QEMU opens the image at start", async () => {
    await define(0);
    expect(await attach(NAMES[0]!, images[0]!, "vdb")).to.deep.equal({ attached: true, live: false, target: "vdb" });
    expect(await attach(NAMES[0]!, images[0]!, "vdb")).to.deep.equal({ attached: true, live: false, target: "vdb" });
    const inactive = disksIn(await virsh("dumpxml", "--inactive", NAMES[0]!));
    expect(inactive).to.have.length(1);
    expect(inactive[0]).to.include({
      source: `${POOL}/${images[0]}`,
      target: "vdb",
      readOnly: false,
      shareable: false,
    });
    // The fail-fast client conf QEMU reads: the monitors in Ceph's v2 syntax and a short mount timeout.
    const conf = fs.readFileSync(inactive[0]!.conf!, "utf8");
    expect(conf)
      .to.match(/mon host = v2:127\.0\.0\.1:3300/)
      .and.match(/client mount timeout = 5/);
    expect(await watchers(images[0]!)).to.equal(0);

    await exec({ case: "startDomain", value: { name: NAMES[0]! } });
    expect(disksIn(await virsh("dumpxml", NAMES[0]!)).map((d) => d.target)).to.deep.equal(["vdb"]);
    expect(await watchers(images[0]!)).to.equal(1);
    await booted(0);
    // The guest's kernel found the disk at boot: 64 MiB = 131072 sectors.
    expect(fs.readFileSync(serial(0), "latin1")).to.match(/\[vdb\] 131072 512-byte logical blocks/);
  });

  it("hot-plugs a shared image read-only into the running domain and its definition", async () => {
    const before = fs.readFileSync(serial(0), "latin1").length;
    expect(await attach(NAMES[0]!, images[1]!, "vdc", { readOnly: true, shareable: true })).to.deep.equal({
      attached: true,
      live: true,
      target: "vdc",
    });
    const live = disksIn(await virsh("dumpxml", NAMES[0]!)).find((d) => d.target === "vdc");
    expect(live).to.include({ source: `${POOL}/${images[1]}`, readOnly: true, shareable: true });
    expect(disksIn(await virsh("dumpxml", "--inactive", NAMES[0]!)).map((d) => d.target)).to.deep.equal(["vdb", "vdc"]);
    await until("the guest kernel sees vdc", async () =>
      fs.readFileSync(serial(0), "latin1").slice(before).includes("[vdc]") ? true : undefined,
    );
    // Attaching again is success with no second device.
    expect((await attach(NAMES[0]!, images[1]!, "vdc", { readOnly: true, shareable: true })).live).to.equal(true);
    expect(disksIn(await virsh("dumpxml", NAMES[0]!))).to.have.length(2);
  });

  it("attaches the same shared image read-only to a second running domain", async () => {
    await define(1);
    await exec({ case: "startDomain", value: { name: NAMES[1]! } });
    await booted(1);
    expect((await attach(NAMES[1]!, images[1]!, "vdb", { readOnly: true, shareable: true })).live).to.equal(true);
    const both = await Promise.all(NAMES.map(async (n) => disksIn(await virsh("dumpxml", n))));
    expect(both[0]!.find((d) => d.source === `${POOL}/${images[1]}`)).to.include({ readOnly: true, shareable: true });
    expect(both[1]!.find((d) => d.source === `${POOL}/${images[1]}`)).to.include({ readOnly: true, shareable: true });
  });

  it("refuses a different image at a target that is taken", async () => {
    let err: unknown;
    await attach(NAMES[0]!, images[1]!, "vdb").catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/vdb already holds private-data-disks\//);
  });

  it("fails an attach to an unreachable cluster in seconds and leaves the domain usable", async () => {
    const gone = uniqueImageName("nowhere");
    let err: unknown;
    await exec({
      case: "attachDisk",
      value: {
        domainName: NAMES[1]!,
        image: { pool: POOL, image: gone },
        cluster: { monHosts: ["v2:127.0.0.1:3999"], authUser: "", secretUuid: "" },
        targetDev: "vdd",
        live: true,
      },
    }).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/Cannot attach a device/);
    // The domain lock is free again: a read of the domain answers, and no vdd is anywhere.
    expect(disksIn(await virsh("dumpxml", NAMES[1]!)).map((d) => d.target)).to.deep.equal(["vdb"]);
  });

  it("attaches an image of the cephx cluster as its restricted user through a libvirt secret", async function () {
    // The compute host's secret holds the user's key (host setup, not an agent command); the disk names it.
    skipUnlessBackend(this, await cephAnswers(cephxCluster), `Ceph cluster "cephx" (${cephxCluster.conf})`);
    const secret = "0193e0a0-0000-7000-8000-0000000ce9a1";
    const xml = `${INSTANCE_DIR}/secret.xml`;
    fs.writeFileSync(
      xml,
      `<secret ephemeral='no' private='yes'><uuid>${secret}</uuid><usage type='ceph'><name>client.${cephxCluster.user} edgehub test</name></usage></secret>`,
    );
    await virsh("secret-undefine", secret).catch(() => "");
    await virsh("secret-define", xml);
    await virsh("secret-set-value", secret, fs.readFileSync(cephxCluster.key!, "utf8").trim());
    const image = uniqueImageName("cephx");
    await rbdCreate(cephxCluster, POOL, image, 64 << 20);
    try {
      const r = await exec({
        case: "attachDisk",
        value: {
          domainName: NAMES[1]!,
          image: { pool: POOL, image },
          cluster: { monHosts: [cephxCluster.monHost], authUser: cephxCluster.user, secretUuid: secret },
          targetDev: "vde",
          live: true,
        },
      }).then(disk);
      expect(r).to.deep.equal({ attached: true, live: true, target: "vde" });
      const live = await virsh("dumpxml", NAMES[1]!);
      expect(live).to.contain(`<auth username='${cephxCluster.user}'>`);
      const status = JSON.parse(await rbdCli(cephxCluster, ["status", `${POOL}/${image}`, "--format", "json"])) as {
        watchers: unknown[];
      };
      expect(status.watchers).to.have.length(1);
      await exec({ case: "detachDisk", value: { domainName: NAMES[1]!, targetDev: "vde", live: true } });
    } finally {
      await rbdPurge(cephxCluster, POOL, image).catch(() => {});
      await virsh("secret-undefine", secret).catch(() => "");
    }
  });

  it("detaches live and from the definition; detaching what is gone succeeds", async () => {
    expect(
      disk(await exec({ case: "detachDisk", value: { domainName: NAMES[0]!, targetDev: "vdc", live: true } })),
    ).to.deep.equal({ attached: false, live: false, target: "vdc" });
    expect(disksIn(await virsh("dumpxml", NAMES[0]!)).map((d) => d.target)).to.deep.equal(["vdb"]);
    expect(disksIn(await virsh("dumpxml", "--inactive", NAMES[0]!)).map((d) => d.target)).to.deep.equal(["vdb"]);
    expect(
      disk(await exec({ case: "detachDisk", value: { domainName: NAMES[0]!, targetDev: "vdc", live: true } })),
    ).to.deep.equal({ attached: false, live: false, target: "vdc" });
    // Cold detach: the shut-off domain's definition loses vdb, and QEMU's watch is gone.
    await exec({ case: "destroyDomain", value: { name: NAMES[0]! } });
    expect(await watchers(images[0]!)).to.equal(0);
    expect(
      disk(await exec({ case: "detachDisk", value: { domainName: NAMES[0]!, targetDev: "vdb", live: true } })),
    ).to.deep.equal({ attached: false, live: false, target: "vdb" });
    expect(disksIn(await virsh("dumpxml", "--inactive", NAMES[0]!))).to.have.length(0);
  });
});
