import { expect } from "chai";
import {
  CEPH_POOLS,
  plainCluster as P,
  rbdChildren,
  rbdInfo,
  rbdLs,
  rbdPurge,
  rbdSnapLs,
  requireCeph,
  uniqueImageName,
} from "../support/ceph-backends.js";
import { cmd, Gateway, linkOptions, MiB } from "./rbd-fixtures.js";

// The ceph_gateway executors against the real plain cluster; every effect is checked with the
// `rbd` CLI, never with the bindings under test, and every command runs twice (idempotency).

const POOL = CEPH_POOLS.standard;
const SSD = CEPH_POOLS.ssd;

describe("ceph_gateway RBD executors (real Ceph, plain cluster)", function () {
  let gw: Gateway;
  const made: [string, string][] = [];
  // Reports are the state read at open plus the change librbd confirmed: each must equal a fresh stat.
  const fresh = (pool: string, image: string) => gw.image(cmd("statRbdImage", { pool, image }));
  const name = (pool: string, prefix: string) => {
    const image = uniqueImageName(prefix);
    made.push([pool, image]);
    return image;
  };

  before(async function () {
    await requireCeph(this, P, "ceph_gateway RBD executors");
    gw = new Gateway(linkOptions(P));
  });
  after(async () => {
    await gw?.close();
    // Clones before parents.
    for (const [pool, image] of made.reverse()) await rbdPurge(P, pool, image).catch(() => undefined);
  });

  it("creates an image with layering, once: the same command again reports the same image", async () => {
    const image = name(POOL, "create");
    const payload = cmd("createRbdImage", { image: { pool: POOL, image }, sizeBytes: 8n * MiB });
    const first = await gw.image(payload);
    expect(first).to.deep.equal(await fresh(POOL, image));
    expect(first).to.include({ pool: POOL, image, exists: true, sizeBytes: 8n * MiB, parentImage: "" });
    const info = await rbdInfo(P, POOL, image);
    expect(info?.size).to.equal(8 * 1024 * 1024);
    expect(info?.features).to.include("layering");
    const again = await gw.image(payload);
    expect(again).to.deep.equal(first);
    expect((await rbdLs(P, POOL)).filter((i) => i === image)).to.have.length(1);
    // The hub never reuses a name: the same name with another size is an error, and changes nothing.
    const other = await gw.failure(cmd("createRbdImage", { image: { pool: POOL, image }, sizeBytes: 16n * MiB }));
    expect(other).to.match(new RegExp(`${POOL}/${image}.*exists with 8388608 bytes`));
    expect((await rbdInfo(P, POOL, image))?.size).to.equal(8 * 1024 * 1024);
  });

  it("grows an image, succeeds on the same size and refuses to shrink (the size stays)", async () => {
    const image = name(POOL, "resize");
    await gw.image(cmd("createRbdImage", { image: { pool: POOL, image }, sizeBytes: 4n * MiB }));
    const grow = cmd("resizeRbdImage", { image: { pool: POOL, image }, sizeBytes: 12n * MiB });
    expect((await gw.image(grow)).sizeBytes).to.equal(12n * MiB);
    expect(await gw.image(grow)).to.deep.equal(await fresh(POOL, image));
    expect((await rbdInfo(P, POOL, image))?.size).to.equal(12 * 1024 * 1024);
    const shrink = await gw.failure(cmd("resizeRbdImage", { image: { pool: POOL, image }, sizeBytes: 4n * MiB }));
    expect(shrink).to.match(/shrinking from 12582912 to 4194304 bytes is refused/);
    expect((await rbdInfo(P, POOL, image))?.size).to.equal(12 * 1024 * 1024);
  });

  it("runs the snapshot → protect → clone → flatten → unprotect → remove cycle, each step twice", async () => {
    const parent = name(POOL, "parent");
    const child = name(SSD, "child");
    const snap = { pool: POOL, image: parent, snapshot: "s1" };
    await gw.image(cmd("createRbdImage", { image: { pool: POOL, image: parent }, sizeBytes: 8n * MiB }));

    for (let i = 0; i < 2; i++) {
      const r = await gw.image(cmd("createRbdSnapshot", { snapshot: snap }));
      expect(r.snapshots.map((s) => [s.name, s.protected])).to.deep.equal([["s1", false]]);
      expect(r).to.deep.equal(await fresh(POOL, parent));
    }
    expect(await rbdSnapLs(P, POOL, parent)).to.deep.equal([{ name: "s1", size: 8 * 1024 * 1024, protected: false }]);

    // A clone needs a protected snapshot: refused before, with the reason.
    const clone = cmd("cloneRbdImage", { parent: snap, child: { pool: SSD, image: child } });
    expect(await gw.failure(clone)).to.match(/not protected/);
    expect(await rbdInfo(P, SSD, child)).to.equal(undefined);

    for (let i = 0; i < 2; i++) {
      const r = await gw.image(cmd("protectRbdSnapshot", { snapshot: snap }));
      expect(r.snapshots[0]?.protected).to.equal(true);
      expect(r).to.deep.equal(await fresh(POOL, parent));
    }
    expect((await rbdSnapLs(P, POOL, parent))[0]?.protected).to.equal(true);

    for (let i = 0; i < 2; i++) {
      const r = await gw.image(clone);
      expect(r).to.include({ pool: SSD, image: child, parentPool: POOL, parentImage: parent, parentSnapshot: "s1" });
    }
    expect((await rbdInfo(P, SSD, child))?.parent).to.include({ pool: POOL, image: parent, snapshot: "s1" });
    expect(await rbdChildren(P, POOL, parent, "s1")).to.deep.equal([`${SSD}/${child}`]);

    const stat = await gw.image(cmd("statRbdImage", { pool: SSD, image: child }));
    expect(stat).to.include({ exists: true, sizeBytes: 8n * MiB, parentImage: parent });

    for (let i = 0; i < 2; i++) {
      const r = await gw.image(cmd("flattenRbdImage", { pool: SSD, image: child }));
      expect(r).to.include({ exists: true, parentPool: "", parentImage: "", parentSnapshot: "" });
      expect(r).to.deep.equal(await fresh(SSD, child));
    }
    expect((await rbdInfo(P, SSD, child))?.parent).to.equal(undefined);
    expect(await rbdChildren(P, POOL, parent, "s1")).to.deep.equal([]);

    for (let i = 0; i < 2; i++) {
      const r = await gw.image(cmd("unprotectRbdSnapshot", { snapshot: snap }));
      expect(r.snapshots[0]?.protected).to.equal(false);
      expect(r).to.deep.equal(await fresh(POOL, parent));
    }
    expect((await rbdSnapLs(P, POOL, parent))[0]?.protected).to.equal(false);

    for (let i = 0; i < 2; i++) {
      const r = await gw.image(cmd("removeRbdSnapshot", { snapshot: snap }));
      expect(r).to.include({ exists: true });
      expect(r.snapshots).to.deep.equal([]);
      expect(r).to.deep.equal(await fresh(POOL, parent));
    }
    expect(await rbdSnapLs(P, POOL, parent)).to.deep.equal([]);

    for (const [pool, image] of [
      [SSD, child],
      [POOL, parent],
    ] as const) {
      for (let i = 0; i < 2; i++) {
        const r = await gw.image(cmd("removeRbdImage", { image: { pool, image }, removeSnapshots: false }));
        expect(r).to.include({ pool, image, exists: false });
      }
      expect(await rbdInfo(P, pool, image)).to.equal(undefined);
    }
  });

  it("refuses to unprotect or remove a snapshot that has a clone, and removes nothing on the way", async () => {
    const parent = name(POOL, "busy");
    const child = name(POOL, "busy-child");
    await gw.image(cmd("createRbdImage", { image: { pool: POOL, image: parent }, sizeBytes: 4n * MiB }));
    // "a" sorts first and has no clone: a remove that went snapshot by snapshot would take it.
    for (const s of ["a-free", "b-cloned"]) {
      await gw.image(cmd("createRbdSnapshot", { snapshot: { pool: POOL, image: parent, snapshot: s } }));
      await gw.image(cmd("protectRbdSnapshot", { snapshot: { pool: POOL, image: parent, snapshot: s } }));
    }
    await gw.image(
      cmd("cloneRbdImage", {
        parent: { pool: POOL, image: parent, snapshot: "b-cloned" },
        child: { pool: POOL, image: child },
      }),
    );

    const unprotect = await gw.failure(
      cmd("unprotectRbdSnapshot", { snapshot: { pool: POOL, image: parent, snapshot: "b-cloned" } }),
    );
    expect(unprotect).to.match(new RegExp(`${POOL}/${parent}@b-cloned: has 1 clone\\(s\\) \\(EBUSY\\)`));

    const remove = await gw.failure(
      cmd("removeRbdImage", { image: { pool: POOL, image: parent }, removeSnapshots: true }),
    );
    expect(remove).to.match(/snapshot b-cloned has 1 clone\(s\) \(EBUSY\)/);
    const removeSnap = await gw.failure(
      cmd("removeRbdSnapshot", { snapshot: { pool: POOL, image: parent, snapshot: "b-cloned" } }),
    );
    expect(removeSnap).to.match(/is protected/);
    const plain = await gw.failure(
      cmd("removeRbdImage", { image: { pool: POOL, image: parent }, removeSnapshots: false }),
    );
    expect(plain).to.match(/has snapshots \(a-free, b-cloned\) \(ENOTEMPTY\)/);

    expect(await rbdSnapLs(P, POOL, parent)).to.deep.equal([
      { name: "a-free", size: 4 * 1024 * 1024, protected: true },
      { name: "b-cloned", size: 4 * 1024 * 1024, protected: true },
    ]);
    expect(await rbdInfo(P, POOL, child)).to.not.equal(undefined);

    // With the clone gone, remove_snapshots unprotects and removes both, then the image.
    await gw.image(cmd("removeRbdImage", { image: { pool: POOL, image: child }, removeSnapshots: false }));
    const gone = await gw.image(cmd("removeRbdImage", { image: { pool: POOL, image: parent }, removeSnapshots: true }));
    expect(gone.exists).to.equal(false);
    expect(await rbdInfo(P, POOL, parent)).to.equal(undefined);
  });

  it("answers for a missing image: stat says absent, removes succeed, changes fail naming it", async () => {
    const image = uniqueImageName("missing");
    const ref = { pool: POOL, image };
    expect(await gw.image(cmd("statRbdImage", ref))).to.include({ pool: POOL, image, exists: false });
    expect(await gw.image(cmd("removeRbdImage", { image: ref, removeSnapshots: true }))).to.include({ exists: false });
    expect(await gw.image(cmd("removeRbdSnapshot", { snapshot: { ...ref, snapshot: "s" } }))).to.include({
      exists: false,
    });
    const missing = new RegExp(`${POOL}/${image}: does not exist \\(ENOENT\\)`);
    expect(await gw.failure(cmd("resizeRbdImage", { image: ref, sizeBytes: 8n * MiB }))).to.match(missing);
    expect(await gw.failure(cmd("createRbdSnapshot", { snapshot: { ...ref, snapshot: "s" } }))).to.match(missing);
    expect(await gw.failure(cmd("flattenRbdImage", ref))).to.match(missing);
    expect(
      await gw.failure(
        cmd("cloneRbdImage", { parent: { ...ref, snapshot: "s" }, child: { pool: POOL, image: `${image}-c` } }),
      ),
    ).to.match(/ENOENT/);
    expect(await rbdInfo(P, POOL, `${image}-c`)).to.equal(undefined);
    // A missing snapshot of an existing image.
    const real = name(POOL, "nosnap");
    await gw.image(cmd("createRbdImage", { image: { pool: POOL, image: real }, sizeBytes: 4n * MiB }));
    expect(
      await gw.failure(cmd("protectRbdSnapshot", { snapshot: { pool: POOL, image: real, snapshot: "nope" } })),
    ).to.match(new RegExp(`${POOL}/${real}@nope: does not exist \\(ENOENT\\)`));
    // A missing pool is the hub's mistake, not an absent image.
    expect(await gw.failure(cmd("statRbdImage", { pool: "no-such-pool", image }))).to.match(
      /open pool no-such-pool: does not exist \(ENOENT\)/,
    );
  });

  it("refuses malformed payloads naming the field, before touching the cluster", async () => {
    expect(await gw.failure(cmd("createRbdImage", { sizeBytes: MiB }))).to.equal(
      "Invalid create_rbd_image: image is required",
    );
    expect(await gw.failure(cmd("createRbdImage", { image: { pool: POOL, image: "a/b" }, sizeBytes: MiB }))).to.match(
      /Invalid create_rbd_image: image.image "a\/b" is not an RBD name/,
    );
    expect(await gw.failure(cmd("createRbdImage", { image: { pool: POOL, image: "x" }, sizeBytes: 0n }))).to.equal(
      "Invalid create_rbd_image: size_bytes must be positive",
    );
    expect(
      await gw.failure(cmd("protectRbdSnapshot", { snapshot: { pool: POOL, image: "x", snapshot: "" } })),
    ).to.equal("Invalid protect_rbd_snapshot: snapshot.snapshot is required");
    expect(await gw.failure(cmd("listRbdImages", { pool: "" }))).to.equal("Invalid list_rbd_images: pool is required");
    expect(await rbdInfo(P, POOL, "x")).to.equal(undefined);
  });

  it("lists a pool's images as the CLI does, and the pools with the cluster's access", async () => {
    const a = name(SSD, "list-a");
    const b = name(SSD, "list-b");
    for (const image of [a, b]) await gw.image(cmd("createRbdImage", { image: { pool: SSD, image }, sizeBytes: MiB }));
    const listed = await gw.run(cmd("listRbdImages", { pool: SSD }));
    expect(listed.kind.case).to.equal("rbdImages");
    const images = listed.kind.case === "rbdImages" ? listed.kind.value.images : [];
    expect(images).to.include.members([a, b]);
    expect([...images].sort()).to.deep.equal((await rbdLs(P, SSD)).sort());

    const pools = await gw.run(cmd("listRbdPools", {}));
    expect(pools.kind.case).to.equal("rbdPools");
    if (pools.kind.case !== "rbdPools") return;
    expect(pools.kind.value.pools.map((p) => p.name)).to.include.members(Object.values(CEPH_POOLS));
    // auth none: no user for the compute host; the mon address as the cluster conf writes it.
    expect(pools.kind.value.cluster).to.include({ authUser: "", secretUuid: "" });
    expect(pools.kind.value.cluster?.monHosts).to.deep.equal([P.monHost]);
  });

  it("closing the link waits for a call in flight and refuses calls after it (no use of a freed handle)", async () => {
    const g = new Gateway(linkOptions(P));
    const image = name(POOL, "closing");
    const creating = g.image(cmd("createRbdImage", { image: { pool: POOL, image }, sizeBytes: MiB }));
    // Let the connect finish so the create is in flight on the handle, then close under it.
    await g.link.cluster();
    const closing = g.close();
    expect((await creating).exists).to.equal(true);
    await closing;
    expect(await g.failure(cmd("statRbdImage", { pool: POOL, image }))).to.match(/closed/);
    expect((await rbdInfo(P, POOL, image))?.size).to.equal(1024 * 1024);
  });
});
