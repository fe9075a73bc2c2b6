import {
  callAsync,
  fn,
  ImageSpec,
  koffi,
  LinkedImageSpec,
  RBD_FEATURE_LAYERING,
  RBD_IMAGE_OPTION_FEATURES,
  SnapInfo,
  SnapSpec,
} from "./bindings.js";
import { check, type CephLink, type RadosCluster } from "./cluster.js";
import { ERRNO, isRbdErrno, RbdError, RbdRefusedError } from "./errors.js";

/** An image as librbd reports it. */
export interface RbdImageState {
  pool: string;
  image: string;
  sizeBytes: bigint;
  parent: { pool: string; image: string; snapshot: string } | undefined;
  snapshots: { name: string; sizeBytes: bigint; protected: boolean }[];
}

const spec = (pool: string, image: string) => `${pool}/${image}`;

/** Runs `op` on an open image and closes it exactly once, whatever `op` does. */
async function withImage<T>(
  c: RadosCluster,
  pool: string,
  image: string,
  readOnly: boolean,
  op: (img: bigint) => Promise<T>,
): Promise<T> {
  const io = await c.ioctx(pool);
  const out: unknown[] = [null];
  const open = readOnly ? fn.rbd_open_read_only : fn.rbd_open;
  check(await callAsync<number>(open, io, image, out, null), "open image", spec(pool, image), c.where);
  const img = out[0] as bigint;
  try {
    return await op(img);
  } finally {
    await callAsync<number>(fn.rbd_close, img);
  }
}

/** Image creation options: layering only, so images can be cloned and attached by several clients. */
async function withLayeringOptions<T>(op: (opts: bigint) => Promise<T>): Promise<T> {
  const out: unknown[] = [null];
  fn.rbd_image_options_create(out);
  const opts = out[0] as bigint;
  try {
    fn.rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_FEATURES, RBD_FEATURE_LAYERING);
    return await op(opts);
  } finally {
    fn.rbd_image_options_destroy(opts);
  }
}

async function sizeOf(c: RadosCluster, img: bigint, target: string): Promise<bigint> {
  const out: unknown[] = [0];
  check(await callAsync<number>(fn.rbd_get_size, img, out), "get size", target, c.where);
  return BigInt(out[0] as number | bigint);
}

async function parentOf(c: RadosCluster, img: bigint, target: string): Promise<RbdImageState["parent"]> {
  const image = koffi.alloc(LinkedImageSpec, 1);
  const snap = koffi.alloc(SnapSpec, 1);
  try {
    const rc = await callAsync<number>(fn.rbd_get_parent, img, image, snap);
    if (rc === -ERRNO.ENOENT) return undefined;
    check(rc, "get parent", target, c.where);
    const i = koffi.decode(image, LinkedImageSpec) as { pool_name: string; image_name: string };
    const s = koffi.decode(snap, SnapSpec) as { name: string };
    const parent = { pool: i.pool_name, image: i.image_name, snapshot: s.name };
    fn.rbd_linked_image_spec_cleanup(image);
    fn.rbd_snap_spec_cleanup(snap);
    return parent;
  } finally {
    koffi.free(image);
    koffi.free(snap);
  }
}

async function snapshotsOf(c: RadosCluster, img: bigint, target: string): Promise<RbdImageState["snapshots"]> {
  for (let capacity = 16; ;) {
    const arr = koffi.alloc(SnapInfo, capacity);
    const max = [capacity];
    try {
      const rc = await callAsync<number>(fn.rbd_snap_list, img, arr, max);
      if (rc === -ERRNO.ERANGE) {
        capacity = max[0]!;
        continue;
      }
      check(rc, "list snapshots", target, c.where);
      const infos = rc === 0 ? [] : (koffi.decode(arr, SnapInfo, rc) as { size: number | bigint; name: string }[]);
      const snaps = infos.map((s) => ({ name: s.name, sizeBytes: BigInt(s.size), protected: false }));
      fn.rbd_snap_list_end(arr);
      const flags = await Promise.all(snaps.map((s) => isProtected(c, img, target, s.name)));
      snaps.forEach((s, i) => (s.protected = flags[i]!));
      return snaps;
    } finally {
      koffi.free(arr);
    }
  }
}

async function isProtected(c: RadosCluster, img: bigint, target: string, snap: string): Promise<boolean> {
  const out = [0];
  check(
    await callAsync<number>(fn.rbd_snap_is_protected, img, snap, out),
    "read protection",
    `${target}@${snap}`,
    c.where,
  );
  return out[0] === 1;
}

/** How many clones a snapshot has (in any pool, trash included). */
async function cloneCount(c: RadosCluster, img: bigint, target: string, snap: string): Promise<number> {
  check(await callAsync<number>(fn.rbd_snap_set, img, snap), "select snapshot", `${target}@${snap}`, c.where);
  try {
    const max = [0];
    const rc = await callAsync<number>(fn.rbd_list_children3, img, null, max);
    if (rc === -ERRNO.ERANGE) return max[0]!;
    check(rc, "list clones", `${target}@${snap}`, c.where);
    return 0;
  } finally {
    await callAsync<number>(fn.rbd_snap_set, img, null);
  }
}

async function statOpen(c: RadosCluster, img: bigint, pool: string, image: string): Promise<RbdImageState> {
  const target = spec(pool, image);
  // An image handle is thread-safe: the reads run side by side on koffi's workers.
  const [sizeBytes, parent, snapshots] = await Promise.all([
    sizeOf(c, img, target),
    parentOf(c, img, target),
    snapshotsOf(c, img, target),
  ]);
  return { pool, image, sizeBytes, parent, snapshots };
}

/** The image in this cluster, or undefined when it does not exist (the pool must). */
async function statIn(c: RadosCluster, pool: string, image: string): Promise<RbdImageState | undefined> {
  try {
    return await withImage(c, pool, image, true, (img) => statOpen(c, img, pool, image));
  } catch (err) {
    // A missing pool is an error (the hub named it); a missing image is an answer.
    if (isMissingImage(err)) return undefined;
    throw err;
  }
}

async function mustStatIn(c: RadosCluster, pool: string, image: string): Promise<RbdImageState> {
  const s = await statIn(c, pool, image);
  if (!s) throw new RbdError("stat", ERRNO.ENOENT, spec(pool, image));
  return s;
}

const isMissingImage = (err: unknown) => isRbdErrno(err, ERRNO.ENOENT) && err.operation === "open image";

/** Runs `op` on the open image; false when the image does not exist (removes are remove-if-present). */
async function ifPresent(run: () => Promise<void>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (err) {
    if (isMissingImage(err)) return false;
    throw err;
  }
}

type Snapshot = RbdImageState["snapshots"][number];
const withSnapshots = (s: RbdImageState, snapshots: Snapshot[]): RbdImageState => ({ ...s, snapshots });

/**
 * The RBD operations of the ceph_gateway role, each idempotent as rbd.proto's contract says:
 * create-if-absent, remove-if-present, protect-if-unprotected, resize to the same size succeeds.
 * Each operation runs within one use of the cluster handle; images are opened and closed in it.
 *
 * Reports: a freshly opened image's state is in librbd's memory (the open read the header), so it
 * is read before a change and the report is that state with the change librbd just confirmed
 * applied. Reading it back after the change would make librbd refresh the header from the OSDs
 * again — one more round trip per command for what the return code already says.
 */
export class RbdImages {
  constructor(private readonly link: CephLink) {}

  /** The image, or undefined when it does not exist. */
  stat(pool: string, image: string): Promise<RbdImageState | undefined> {
    return this.link.run((c) => statIn(c, pool, image));
  }

  create(pool: string, image: string, sizeBytes: bigint): Promise<RbdImageState> {
    if (sizeBytes <= 0n)
      return Promise.reject(new RbdRefusedError(`create ${spec(pool, image)}: size must be positive`));
    return this.link.run(async (c) => {
      const io = await c.ioctx(pool);
      const rc = await withLayeringOptions((opts) => callAsync<number>(fn.rbd_create4, io, image, sizeBytes, opts));
      if (rc !== -ERRNO.EEXIST) {
        check(rc, "create image", spec(pool, image), c.where);
        return { pool, image, sizeBytes, parent: undefined, snapshots: [] };
      }
      const state = await mustStatIn(c, pool, image);
      if (state.sizeBytes !== sizeBytes)
        throw new RbdRefusedError(
          `create ${spec(pool, image)}: an image of this name exists with ${state.sizeBytes} bytes, not ${sizeBytes}`,
        );
      return state;
    });
  }

  /** Grows the image; the same size succeeds, a smaller one is refused (data would be cut). */
  resize(pool: string, image: string, sizeBytes: bigint): Promise<RbdImageState> {
    return this.onImage(pool, image, async (c, img, target, s) => {
      if (sizeBytes < s.sizeBytes)
        throw new RbdRefusedError(`resize ${target}: shrinking from ${s.sizeBytes} to ${sizeBytes} bytes is refused`);
      if (sizeBytes === s.sizeBytes) return s;
      check(await callAsync<number>(fn.rbd_resize, img, sizeBytes), "resize", target, c.where);
      return { ...s, sizeBytes };
    });
  }

  /**
   * Removes the image if present. With removeSnapshots its snapshots go first (unprotected); a
   * snapshot with clones stops it before anything is removed.
   */
  remove(pool: string, image: string, removeSnapshots: boolean): Promise<void> {
    const target = spec(pool, image);
    return this.link.run(async (c) => {
      const io = await c.ioctx(pool);
      // The common case in one call; librbd refuses an image with snapshots before removing anything.
      let rc = await callAsync<number>(fn.rbd_remove, io, image);
      if (rc === -ERRNO.ENOTEMPTY) {
        const present = await ifPresent(() =>
          withImage(c, pool, image, false, async (img) => {
            const snaps = await snapshotsOf(c, img, target);
            if (!removeSnapshots)
              throw new RbdError(
                "remove image",
                ERRNO.ENOTEMPTY,
                target,
                `has snapshots (${snaps.map((s) => s.name).join(", ")})`,
              );
            // Check every snapshot first so a clone found late does not leave the others removed.
            for (const s of snaps) {
              const clones = s.protected ? await cloneCount(c, img, target, s.name) : 0;
              if (clones > 0)
                throw new RbdError("remove image", ERRNO.EBUSY, target, `snapshot ${s.name} has ${clones} clone(s)`);
            }
            for (const s of snaps) {
              const at = `${target}@${s.name}`;
              if (s.protected)
                check(await callAsync<number>(fn.rbd_snap_unprotect, img, s.name), "unprotect snapshot", at, c.where);
              check(await callAsync<number>(fn.rbd_snap_remove, img, s.name), "remove snapshot", at, c.where);
            }
          }),
        );
        if (!present) return;
        rc = await callAsync<number>(fn.rbd_remove, io, image);
      }
      if (rc === -ERRNO.ENOENT) return;
      if (rc === -ERRNO.EBUSY)
        throw new RbdError("remove image", ERRNO.EBUSY, target, "is in use (open by a client, e.g. an attached VM)");
      check(rc, "remove image", target, c.where);
    });
  }

  snapshotCreate(pool: string, image: string, snap: string): Promise<RbdImageState> {
    return this.onImage(pool, image, async (c, img, target, s) => {
      if (s.snapshots.some((x) => x.name === snap)) return s;
      check(await callAsync<number>(fn.rbd_snap_create, img, snap), "create snapshot", `${target}@${snap}`, c.where);
      return withSnapshots(s, [...s.snapshots, { name: snap, sizeBytes: s.sizeBytes, protected: false }]);
    });
  }

  snapshotProtect(pool: string, image: string, snap: string): Promise<RbdImageState> {
    return this.onImage(pool, image, async (c, img, target, s) => {
      const found = mustFind(s, snap, "protect snapshot", target);
      if (found.protected) return s;
      const rc = await callAsync<number>(fn.rbd_snap_protect, img, snap);
      // EBUSY: protected meanwhile by another client — the wanted state.
      if (rc !== -ERRNO.EBUSY) check(rc, "protect snapshot", `${target}@${snap}`, c.where);
      return withSnapshots(
        s,
        s.snapshots.map((x) => (x.name === snap ? { ...x, protected: true } : x)),
      );
    });
  }

  snapshotUnprotect(pool: string, image: string, snap: string): Promise<RbdImageState> {
    return this.onImage(pool, image, async (c, img, target, s) => {
      const found = mustFind(s, snap, "unprotect snapshot", target);
      if (!found.protected) return s;
      const rc = await callAsync<number>(fn.rbd_snap_unprotect, img, snap);
      if (rc === -ERRNO.EBUSY) {
        const clones = await cloneCount(c, img, target, snap);
        throw new RbdError("unprotect snapshot", ERRNO.EBUSY, `${target}@${snap}`, `has ${clones} clone(s)`);
      }
      check(rc, "unprotect snapshot", `${target}@${snap}`, c.where);
      return withSnapshots(
        s,
        s.snapshots.map((x) => (x.name === snap ? { ...x, protected: false } : x)),
      );
    });
  }

  /** Removes the snapshot if present (an absent image has no snapshots: success, reported absent). */
  snapshotRemove(pool: string, image: string, snap: string): Promise<RbdImageState | undefined> {
    return this.link.run(async (c) => {
      let after: RbdImageState | undefined;
      await ifPresent(async () => {
        after = await withImage(c, pool, image, false, async (img) => {
          const target = spec(pool, image);
          const s = await statOpen(c, img, pool, image);
          const found = s.snapshots.find((x) => x.name === snap);
          if (!found) return s;
          if (found.protected)
            throw new RbdError(
              "remove snapshot",
              ERRNO.EBUSY,
              `${target}@${snap}`,
              "is protected (unprotect it first)",
            );
          check(
            await callAsync<number>(fn.rbd_snap_remove, img, snap),
            "remove snapshot",
            `${target}@${snap}`,
            c.where,
          );
          return withSnapshots(
            s,
            s.snapshots.filter((x) => x.name !== snap),
          );
        });
      });
      return after;
    });
  }

  /** Clones a protected snapshot; a child that exists as a clone of that snapshot succeeds. */
  clone(
    parent: { pool: string; image: string; snapshot: string },
    child: { pool: string; image: string },
  ): Promise<RbdImageState> {
    const parentSpec = `${spec(parent.pool, parent.image)}@${parent.snapshot}`;
    const childSpec = spec(child.pool, child.image);
    return this.link.run(async (c) => {
      const pio = await c.ioctx(parent.pool);
      const cio = await c.ioctx(child.pool);
      const rc = await withLayeringOptions((opts) =>
        callAsync<number>(fn.rbd_clone3, pio, parent.image, parent.snapshot, cio, child.image, opts),
      );
      if (rc === -ERRNO.EEXIST) {
        const existing = await mustStatIn(c, child.pool, child.image);
        const p = existing.parent;
        if (p?.pool === parent.pool && p.image === parent.image && p.snapshot === parent.snapshot) return existing;
        throw new RbdRefusedError(`clone ${parentSpec} to ${childSpec}: ${childSpec} exists and is not a clone of it`);
      }
      if (rc === -ERRNO.EINVAL) {
        // librbd's EINVAL here is nearly always an unprotected parent snapshot: say so when it is.
        const state = await statIn(c, parent.pool, parent.image);
        const snap = state?.snapshots.find((s) => s.name === parent.snapshot);
        if (snap && !snap.protected)
          throw new RbdError("clone", ERRNO.EINVAL, parentSpec, "the parent snapshot is not protected");
      }
      check(rc, "clone", `${parentSpec} to ${childSpec}`, c.where);
      // The clone's size is the parent snapshot's: read from the new image (opened read-only, no watch).
      return mustStatIn(c, child.pool, child.image);
    });
  }

  /** Copies the parent's data into the clone and detaches it; an image without parent succeeds. */
  flatten(pool: string, image: string): Promise<RbdImageState> {
    return this.onImage(pool, image, async (c, img, target, s) => {
      if (!s.parent) return s;
      const rc = await callAsync<number>(fn.rbd_flatten, img);
      // EINVAL: flattened meanwhile by another client — the wanted state.
      if (rc !== -ERRNO.EINVAL) check(rc, "flatten", target, c.where);
      return { ...s, parent: undefined };
    });
  }

  list(pool: string): Promise<string[]> {
    return this.link.run(async (c) => {
      const io = await c.ioctx(pool);
      for (let capacity = 64; ;) {
        const arr = koffi.alloc(ImageSpec, capacity);
        const max = [capacity];
        try {
          const rc = await callAsync<number>(fn.rbd_list2, io, arr, max);
          if (rc === -ERRNO.ERANGE) {
            capacity = max[0]!;
            continue;
          }
          check(rc, "list images", pool, c.where);
          const n = max[0]!;
          const names = n === 0 ? [] : (koffi.decode(arr, ImageSpec, n) as { name: string }[]).map((s) => s.name);
          fn.rbd_image_spec_list_cleanup(arr, n);
          return names.sort();
        } finally {
          koffi.free(arr);
        }
      }
    });
  }

  /** Opens the image, reads its state (from the open), runs a change that answers the new state. */
  private onImage(
    pool: string,
    image: string,
    op: (c: RadosCluster, img: bigint, target: string, before: RbdImageState) => Promise<RbdImageState>,
  ): Promise<RbdImageState> {
    return this.link.run((c) =>
      withImage(c, pool, image, false, async (img) =>
        op(c, img, spec(pool, image), await statOpen(c, img, pool, image)),
      ),
    );
  }
}

function mustFind(s: RbdImageState, snap: string, operation: string, target: string): Snapshot {
  const found = s.snapshots.find((x) => x.name === snap);
  if (!found) throw new RbdError(operation, ERRNO.ENOENT, `${target}@${snap}`);
  return found;
}
