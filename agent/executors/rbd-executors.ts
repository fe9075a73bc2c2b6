import { create } from "@bufbuild/protobuf";
import { RbdClusterAccessSchema } from "../../gen/edgehub/common/v1/rbd_pb.js";
import type { CommandContext, CommandExecutor, CommandExecutors } from "../../lib/fleet-session/command-dispatcher.js";
import type { CephLink } from "../rbd/cluster.js";
import type { RbdImages } from "../rbd/images.js";
import { monHostsOf, poolUsage } from "../rbd/pools.js";
import { rbdImageResult, rbdImagesResult, rbdPoolsResult } from "./rbd-report.js";
import { imageRef, poolName, positiveSize, snapshotRef } from "./rbd-validation.js";

export interface RbdExecutorDeps {
  link: CephLink;
  images: RbdImages;
}

/**
 * Stops waiting when the command is cancelled or its deadline passes. The librbd call itself
 * cannot be interrupted; it finishes on its worker thread within the link's timeouts and the
 * cluster handle stays alive until it does (RadosCluster.use).
 */
function untilAborted<T>(ctx: CommandContext, work: Promise<T>): Promise<T> {
  if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("cancelled"));
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => ctx.signal.removeEventListener("abort", onAbort));
  });
}

const createImage =
  (d: RbdExecutorDeps): CommandExecutor<"createRbdImage"> =>
  async (p, ctx) => {
    const { pool, image } = imageRef("create_rbd_image", "image", p.image);
    const size = positiveSize("create_rbd_image", p.sizeBytes);
    return rbdImageResult(pool, image, await untilAborted(ctx, d.images.create(pool, image, size)));
  };

const resizeImage =
  (d: RbdExecutorDeps): CommandExecutor<"resizeRbdImage"> =>
  async (p, ctx) => {
    const { pool, image } = imageRef("resize_rbd_image", "image", p.image);
    const size = positiveSize("resize_rbd_image", p.sizeBytes);
    return rbdImageResult(pool, image, await untilAborted(ctx, d.images.resize(pool, image, size)));
  };

const removeImage =
  (d: RbdExecutorDeps): CommandExecutor<"removeRbdImage"> =>
  async (p, ctx) => {
    const { pool, image } = imageRef("remove_rbd_image", "image", p.image);
    await untilAborted(ctx, d.images.remove(pool, image, p.removeSnapshots));
    return rbdImageResult(pool, image, undefined);
  };

type SnapshotKind = "createRbdSnapshot" | "protectRbdSnapshot" | "unprotectRbdSnapshot" | "removeRbdSnapshot";
const SNAPSHOT_OPS: Record<SnapshotKind, [string, keyof RbdImages]> = {
  createRbdSnapshot: ["create_rbd_snapshot", "snapshotCreate"],
  protectRbdSnapshot: ["protect_rbd_snapshot", "snapshotProtect"],
  unprotectRbdSnapshot: ["unprotect_rbd_snapshot", "snapshotUnprotect"],
  removeRbdSnapshot: ["remove_rbd_snapshot", "snapshotRemove"],
};

function snapshotExecutor<K extends SnapshotKind>(d: RbdExecutorDeps, kind: K): CommandExecutor<K> {
  const [wire, method] = SNAPSHOT_OPS[kind];
  return async (p, ctx) => {
    const s = snapshotRef(wire, "snapshot", (p as { snapshot?: Parameters<typeof snapshotRef>[2] }).snapshot);
    const op = d.images[method] as (pool: string, image: string, snap: string) => ReturnType<RbdImages["stat"]>;
    return rbdImageResult(s.pool, s.image, await untilAborted(ctx, op.call(d.images, s.pool, s.image, s.snapshot)));
  };
}

const cloneImage =
  (d: RbdExecutorDeps): CommandExecutor<"cloneRbdImage"> =>
  async (p, ctx) => {
    const parent = snapshotRef("clone_rbd_image", "parent", p.parent);
    const child = imageRef("clone_rbd_image", "child", p.child);
    return rbdImageResult(child.pool, child.image, await untilAborted(ctx, d.images.clone(parent, child)));
  };

const flattenImage =
  (d: RbdExecutorDeps): CommandExecutor<"flattenRbdImage"> =>
  async (p, ctx) => {
    const { pool, image } = imageRef("flatten_rbd_image", "image", p);
    return rbdImageResult(pool, image, await untilAborted(ctx, d.images.flatten(pool, image)));
  };

const statImage =
  (d: RbdExecutorDeps): CommandExecutor<"statRbdImage"> =>
  async (p, ctx) => {
    const { pool, image } = imageRef("stat_rbd_image", "image", p);
    return rbdImageResult(pool, image, await untilAborted(ctx, d.images.stat(pool, image)));
  };

const listImages =
  (d: RbdExecutorDeps): CommandExecutor<"listRbdImages"> =>
  async (p, ctx) => {
    const pool = poolName("list_rbd_images", "pool", p.pool);
    return rbdImagesResult(pool, await untilAborted(ctx, d.images.list(pool)));
  };

/** The pools with their usage, and how clients reach this cluster (for the hub's attach commands). */
const listPools =
  (d: RbdExecutorDeps): CommandExecutor<"listRbdPools"> =>
  async (_p, ctx) => {
    const pools = await untilAborted(ctx, poolUsage(d.link));
    const cluster = await d.link.cluster();
    // auth none: no user to name (and no libvirt secret on the compute host).
    const cephx = cluster.confGet("auth_client_required").includes("cephx");
    const access = create(RbdClusterAccessSchema, {
      monHosts: monHostsOf(cluster.confGet("mon_host")),
      authUser: cephx ? d.link.options.user.replace(/^client\./, "") : "",
      secretUuid: "",
    });
    return rbdPoolsResult(pools, access);
  };

/** The ceph_gateway role's executors (command kinds 13–24 of command.proto). */
export function rbdExecutors(d: RbdExecutorDeps): CommandExecutors {
  return {
    createRbdImage: createImage(d),
    resizeRbdImage: resizeImage(d),
    removeRbdImage: removeImage(d),
    createRbdSnapshot: snapshotExecutor(d, "createRbdSnapshot"),
    protectRbdSnapshot: snapshotExecutor(d, "protectRbdSnapshot"),
    unprotectRbdSnapshot: snapshotExecutor(d, "unprotectRbdSnapshot"),
    removeRbdSnapshot: snapshotExecutor(d, "removeRbdSnapshot"),
    cloneRbdImage: cloneImage(d),
    flattenRbdImage: flattenImage(d),
    statRbdImage: statImage(d),
    listRbdImages: listImages(d),
    listRbdPools: listPools(d),
  };
}
