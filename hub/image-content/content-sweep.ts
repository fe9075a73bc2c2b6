import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { PeriodicTask } from "../background/periodic-task.js";
import type { ImageContentStore } from "./image-content-store.js";

/** Content younger than this is kept even if unreferenced: its upload may be about to commit. */
export const SWEEP_GRACE_MS = 3600_000;

/**
 * Removes store content that no image version row (live or deleted) references and that was not
 * written within `graceMs`: the leftovers of uploads whose database step failed or lost a race.
 * Each hub sweeps the store it serves (a shared store is swept by all of them, harmlessly).
 */
export async function sweepUnreferencedContent(deps: {
  knex: Knex;
  store: ImageContentStore;
  now: Date;
  graceMs?: number;
}): Promise<{ removed: string[]; removedBytes: number }> {
  const entries = await deps.store.list();
  if (entries.length === 0) return { removed: [], removedBytes: 0 };
  const rows = (await deps.knex("image_versions").whereNotNull("content_sha256").distinct("content_sha256")) as {
    content_sha256: string;
  }[];
  const referenced = new Set(rows.map((r) => r.content_sha256));
  const cutoff = deps.now.getTime() - (deps.graceMs ?? SWEEP_GRACE_MS);
  const removed: string[] = [];
  let removedBytes = 0;
  for (const e of entries) {
    if (referenced.has(e.sha256) || e.modifiedAt.getTime() > cutoff) continue;
    if (!(await deps.store.remove(e.sha256, e.modifiedAt))) continue;
    removed.push(e.sha256);
    removedBytes += e.sizeBytes;
  }
  return { removed, removedBytes };
}

/** Sweeps at start and then every `intervalMs` (hourly by default) until stop(). */
export function startContentSweep(deps: {
  knex: Knex;
  store: ImageContentStore;
  clock: Clock;
  log: Logger;
  intervalMs?: number;
}): { stop(): Promise<void> } {
  const task = new PeriodicTask(
    "image-content-sweep",
    deps.intervalMs ?? SWEEP_GRACE_MS,
    async () => {
      const { removed, removedBytes } = await sweepUnreferencedContent({ ...deps, now: deps.clock.now() });
      if (removed.length > 0) deps.log.info({ removed, removedBytes }, "Removed unreferenced image content");
    },
    deps.log,
  );
  task.start();
  void task.runOnce();
  return { stop: () => task.stop() };
}
