import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { leasedTask } from "../background/leased-task.js";
import type { PeriodicTask } from "../background/periodic-task.js";
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
export class DiskReconciler {
  private readonly task: PeriodicTask;

  constructor(private readonly deps: DiskReconcilerDeps) {
    this.task = leasedTask({
      name: "disk-reconciler",
      intervalMs: deps.intervalMs,
      knex: deps.knex,
      lockKey: deps.lockKey,
      log: deps.log,
      run: (trx) => this.pass(trx),
      onPass: () => deps.onPass?.(),
    });
  }

  start(): void {
    this.task.start();
  }

  /** Runs a pass soon (after an API mutation); passes never overlap. */
  wake(): void {
    setImmediate(() => void this.task.runOnce());
  }

  runOnce(): Promise<void> {
    return this.task.runOnce();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  private async pass(trx: Knex.Transaction): Promise<number> {
    const now = this.deps.clock.now();
    const disks = await unconvergedDiskIds(trx, BATCH);
    for (const id of disks) {
      try {
        await trx.transaction((sp) => reconcileDisk(sp, id, now));
      } catch (err) {
        this.deps.log.warn({ err, diskId: id }, "Reconciling disk failed; retrying next pass");
      }
    }
    const snaps = await unconvergedSnapshotIds(trx, BATCH);
    for (const id of snaps) {
      try {
        await trx.transaction((sp) => reconcileSnapshot(sp, id, now));
      } catch (err) {
        this.deps.log.warn({ err, snapshotId: id }, "Reconciling disk snapshot failed; retrying next pass");
      }
    }
    return disks.length + snaps.length;
  }
}
