// bench/classroom: the teaching scenario's two waits (000 §2.5), timed with real programs — a hub
// in this process (PGlite, or PostgreSQL with DATABASE_URL), one compute agent process on libvirt's
// test:///default driver and edgehub-cloudbox processes:
//   prep      the teacher's preparation of N seats: create the training set, BatchCreateInstances
//             (1 teacher + N-1 students), BatchStartInstances, every instance running, and
//             BindCloudBoxes for the N (already enrolled) boxes in one call;
//   boot      box process start → its viewer launched with a ticket (sequential boxes, p50/p95), and
//             the whole class switching on at once (wall time until the last viewer).
// Baselines in the same run: the same seats created and started one by one through InstanceService
// (the path without batches), and the bare floor of a box — `node --import tsx` running an empty
// script — which every box boot pays before it speaks to the hub.
//
//   npx tsx bench/classroom/run.ts [--seats 60] [--boot-samples 10]
//
// Prints JSON on stdout. Needs libvirt0 and qemu-img (scripts/libvirt-dev.sh installs them).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { summarize } from "../fleet/percentiles.js";
import { waitFor } from "../../test/fleet/support/agent-process.js";
import { ClassroomWorld } from "../../test/classroom/classroom-world.js";

const { values: flags } = parseArgs({
  options: {
    seats: { type: "string", default: "60" },
    "boot-samples": { type: "string", default: "10" },
  },
});
const SEATS = Number(flags.seats);
const BOOT_SAMPLES = Number(flags["boot-samples"]);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

const ms = (t0: number) => +(performance.now() - t0).toFixed(1);

/** The floor under every box boot: a node process with the tsx loader and nothing to do. */
function bareProcessMs(runs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ["--import", "tsx", "-e", ""], { cwd: ROOT });
    out.push(ms(t0));
  }
  return out;
}

async function main(): Promise<void> {
  // SEATS students (one seat is the teacher's) plus SEATS more users for the one-by-one baseline.
  const w = new ClassroomWorld(SEATS * 2 - 1);
  await w.start();
  try {
    const students = w.students.slice(0, SEATS - 1);
    const baselineUsers = w.students.slice(SEATS - 1);

    // The boxes are enrolled beforehand (plug and play happens once, not before every class).
    const serials = Array.from({ length: SEATS }, (_, i) => `SN-BENCH-${String(i + 1).padStart(4, "0")}`);
    const enrolling = serials.map((s) => w.bootBox(s));
    const boxIds = await Promise.all(serials.map((s) => w.onlineBoxId(s)));
    await Promise.all(enrolling.map((b) => b.kill("SIGTERM")));

    // prep: the teacher's path.
    const t0 = performance.now();
    const setId = await w.trainingSet("bench-class");
    const sets = await w.sets(w.teacher);
    const created = await sets.batchCreateInstances({
      instanceSetId: setId,
      teacherInstance: { name: "teacher-desk", spec: w.spec() },
      studentSpec: w.spec(),
      students: students.map((s) => ({ userId: s.userId })),
    });
    if (created.failedCount) throw new Error(`batch create: ${created.failedCount} failed`);
    const createdMs = ms(t0);
    const seatInstances = created.results.map((r) => r.instance!.instanceId);
    const started = await sets.batchStartInstances({ instanceSetId: setId, computePoolId: w.site.computePoolId });
    if (started.results.some((r) => r.error)) throw new Error("batch start refused some instances");
    await w.waitForStatus(seatInstances, "running", 600_000);
    const runningMs = ms(t0);
    const bound = await (
      await w.cloudBoxes(w.teacher)
    ).bindCloudBoxes({
      bindings: seatInstances.map((instanceId, i) => ({ cloudBoxId: boxIds[i]!, instanceId })),
      expireTime: timestampFromDate(new Date(Date.now() + 3600_000)),
    });
    if (bound.results.some((r) => !r.ok)) throw new Error("bind refused some boxes");
    const prepMs = ms(t0);

    // Baseline: the same number of seats, one CreateInstance + StartInstance per user.
    const b0 = performance.now();
    const singles: string[] = [];
    for (const u of baselineUsers) {
      const api = await w.instances(u);
      const { instance } = await api.createInstance({
        instance: { name: `single-${u.username}`, cpuCores: 1, memoryGb: 1, storageGb: 10 },
        imageId: w.imageId,
      });
      await api.startInstance({ id: instance!.id, computePoolId: w.site.computePoolId });
      singles.push(instance!.id);
    }
    await w.waitForStatus(singles, "running", 600_000);
    const oneByOneMs = ms(b0);

    // boot: one box at a time, process start → viewer launched.
    const boot: number[] = [];
    for (let i = 0; i < Math.min(BOOT_SAMPLES, SEATS); i++) {
      const t = performance.now();
      const box = w.bootBox(serials[i]!, enrolling[i]!.stateDir);
      await waitFor(`viewer of ${serials[i]}`, async () => box.viewer(), 120_000);
      boot.push(ms(t));
      await box.kill("SIGTERM"); // the box closes its viewer on the way out
      killQuietly(box.viewer()!.pid);
    }
    // The class switches on at once.
    const c0 = performance.now();
    const all = serials.map((s, i) => w.bootBox(s, enrolling[i]!.stateDir));
    await Promise.all(all.map((b, i) => waitFor(`viewer of ${serials[i]}`, async () => b.viewer(), 600_000)));
    const classOnMs = ms(c0);

    const floor = bareProcessMs(5);
    process.stdout.write(
      JSON.stringify(
        {
          when: new Date().toISOString(),
          database: process.env.DATABASE_URL ? "postgresql" : "pglite",
          seats: SEATS,
          prep_ms: {
            total: prepMs,
            batch_create: createdMs,
            all_running: runningMs,
            bind: +(prepMs - runningMs).toFixed(1),
          },
          baseline_one_by_one_create_start_ms: oneByOneMs,
          prep_vs_one_by_one: +(runningMs / oneByOneMs).toFixed(3),
          boot_to_viewer_ms: summarize(boot),
          class_switch_on_ms: classOnMs,
          baseline_bare_node_tsx_process_ms: summarize(floor),
          targets: { prep_ms: 60_000, boot_to_viewer_ms: 5_000 },
        },
        null,
        2,
      ) + "\n",
    );
  } finally {
    await w.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`bench-classroom: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
