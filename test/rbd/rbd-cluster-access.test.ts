import { execFileSync } from "node:child_process";
import net from "node:net";
import { expect } from "chai";
import {
  CEPH_POOLS,
  cephxCluster as X,
  rbdInfo,
  rbdPurge,
  rbdSnapLs,
  requireCeph,
  uniqueImageName,
} from "../support/ceph-backends.js";
import { cmd, Gateway, linkOptions, MiB } from "./rbd-fixtures.js";

// How the gateway reaches a cluster: the production setup (cephx, a restricted user that may use
// RBD on the three pools and nothing else) and a cluster that does not answer.

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("ceph_gateway with cephx: the restricted user client.edgehub-disks (real Ceph)", function () {
  let gw: Gateway;
  const POOL = CEPH_POOLS.standard;
  const NVME = CEPH_POOLS.nvme;
  const parent = uniqueImageName("cx-parent");
  const child = uniqueImageName("cx-child");

  before(async function () {
    await requireCeph(this, X, "ceph_gateway with cephx");
    gw = new Gateway(linkOptions(X));
  });
  after(async () => {
    await gw?.close();
    await rbdPurge(X, NVME, child).catch(() => undefined);
    await rbdPurge(X, POOL, parent).catch(() => undefined);
  });

  it("creates, snapshots, protects and clones across pools as the restricted user; the CLI (admin) sees it", async () => {
    await gw.image(cmd("createRbdImage", { image: { pool: POOL, image: parent }, sizeBytes: 4n * MiB }));
    const snap = { pool: POOL, image: parent, snapshot: "base" };
    await gw.image(cmd("createRbdSnapshot", { snapshot: snap }));
    await gw.image(cmd("protectRbdSnapshot", { snapshot: snap }));
    const clone = await gw.image(cmd("cloneRbdImage", { parent: snap, child: { pool: NVME, image: child } }));
    expect(clone).to.include({ pool: NVME, image: child, parentPool: POOL, parentImage: parent });
    expect((await rbdInfo(X, NVME, child))?.parent).to.include({ pool: POOL, image: parent, snapshot: "base" });
    expect(await rbdSnapLs(X, POOL, parent)).to.deep.equal([{ name: "base", size: 4 * 1024 * 1024, protected: true }]);

    const pools = await gw.run(cmd("listRbdPools", {}));
    if (pools.kind.case !== "rbdPools") throw new Error(`expected rbdPools, got ${pools.kind.case}`);
    // cephx on: the compute hosts need the user's name (and a libvirt secret with its key).
    expect(pools.kind.value.cluster).to.include({ authUser: X.user });
    expect(pools.kind.value.cluster?.monHosts).to.deep.equal([X.monHost]);

    await gw.image(cmd("removeRbdImage", { image: { pool: NVME, image: child }, removeSnapshots: false }));
    await gw.image(cmd("removeRbdImage", { image: { pool: POOL, image: parent }, removeSnapshots: true }));
    expect(await rbdInfo(X, NVME, child)).to.equal(undefined);
    expect(await rbdInfo(X, POOL, parent)).to.equal(undefined);
  });

  it("a wrong key is refused as access denied, not reported as an unavailable cluster", async () => {
    const wrong = new Gateway({
      conf: X.conf,
      user: X.user,
      // A well-formed key that is not the user's.
      key: execFileSync("ceph-authtool", ["--gen-print-key"]).toString().trim(),
      timeoutSeconds: 5,
    });
    try {
      const message = await wrong.failure(cmd("statRbdImage", { pool: POOL, image: parent }));
      expect(message).to.match(/connect as client\.edgehub-disks: .*\((EACCES|EPERM)\)/);
      expect(message).to.not.match(/unavailable/);
    } finally {
      await wrong.close();
    }
  });
});

describe("ceph_gateway with an unreachable cluster (real librados)", function () {
  before(async function () {
    // Needs only the library, not a running cluster; still a heavy suite (it waits out a timeout).
    await requireCeph(this, X, "ceph_gateway with an unreachable cluster");
  });

  it("fails each kind of command with 'unavailable' at the link's timeout, before the command's deadline", async () => {
    const port = await closedPort();
    const gw = new Gateway({ monHost: `127.0.0.1:${port}`, user: "admin", timeoutSeconds: 2 });
    try {
      const image = { pool: CEPH_POOLS.standard, image: uniqueImageName("unreachable") };
      for (const payload of [
        cmd("createRbdImage", { image, sizeBytes: MiB }),
        cmd("statRbdImage", image),
        cmd("listRbdPools", {}),
      ]) {
        // The deadline (30 s) would abort with "deadline passed"; the link's 2 s timeout comes first.
        const message = await gw.failure(payload, 30_000);
        expect(message).to.equal(
          `Ceph cluster unavailable (mon host 127.0.0.1:${port}): connect as client.admin got no answer (ETIMEDOUT)`,
        );
      }
    } finally {
      await gw.close();
    }
  });

  it("a command whose deadline passes first stops waiting; the connect still in flight is closed after it", async () => {
    const gw = new Gateway({ monHost: `127.0.0.1:${await closedPort()}`, user: "admin", timeoutSeconds: 2 });
    const message = await gw.failure(cmd("statRbdImage", { pool: CEPH_POOLS.standard, image: "x" }), 200);
    expect(message).to.equal("deadline passed");
    // close() waits for the connect attempt to end (it fails at 2 s) and frees nothing twice.
    await gw.close();
    expect(await gw.failure(cmd("statRbdImage", { pool: CEPH_POOLS.standard, image: "x" }))).to.match(/closed/);
  });
});
