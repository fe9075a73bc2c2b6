import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { eachInSavepoint, LeasedLoop } from "../background/leased-loop.js";
import { reconcileDisk } from "./disk-steps.js";
import { unconvergedDiskIds } from "./disk-store.js";
import { reconcileSnapshot } from "./snapshot-steps.js";
import { unconvergedSnapshotIds } from "./snapshot-store.js";

export interface DiskReconcilerDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  /** From hub/db/advisory-lock-keys.ts. */
  lockKey: number;
  intervalMs: number;
  /** Called after each pass (tests). */
  onPass?: () => void;
}

const BATCH = 200;

/**
 * The level-triggered loop of DESIGN.md "Desired state" for disks and snapshots: every pass reads
 * each one with an operation in flight and moves it as far as the ceph_gateway's reports allow —
 * queue the next command (once per idempotency key), or read the finished one. A pass holds the
 * lease (one hub at a time); each object runs in its own savepoint, so one that fails is retried
 * next pass without undoing the others.
 */
export class DiskReconciler extends LeasedLoop {
  constructor(private readonly deps: DiskReconcilerDeps) {
    super({ ...deps, name: "disk-reconciler" });
  }

  protected async pass(trx: Knex.Transaction): Promise<number> {
    const now = this.deps.clock.now();
    const { log } = this.deps;
    const disks = await unconvergedDiskIds(trx, BATCH);
    await eachInSavepoint(
      trx,
      disks,
      (sp, id) => reconcileDisk(sp, id, now),
      (err, diskId) => log.warn({ err, diskId }, "Reconciling disk failed; retrying next pass"),
    );
    const snaps = await unconvergedSnapshotIds(trx, BATCH);
    await eachInSavepoint(
      trx,
      snaps,
      (sp, id) => reconcileSnapshot(sp, id, now),
      (err, snapshotId) => log.warn({ err, snapshotId }, "Reconciling disk snapshot failed; retrying next pass"),
    );
    return disks.length + snaps.length;
  }
}
