/**
 * bench/rbd: full private-data-disk cycles (create, resize, snapshot, protect, clone, remove clone,
 * unprotect, remove snapshot, remove) on the real plain dev cluster through three paths in the same
 * run, interleaved in blocks: the ceph_gateway executors (what a hub command runs: validation,
 * librbd over koffi, the RbdImageReport read back), the `rbd` CLI spawned per operation, and
 * python3-rbd sequenced as OpenStack Cinder's RBD driver does.
 *
 *   npx tsx bench/rbd/bench-rbd.ts [--cycles 30] [--block 5] [--conf /var/lib/edgehub-ceph-dev/plain/ceph.conf]
 *
 * Prints JSON: p50/p95 milliseconds per op and per cycle for each path, and the cycle ratios to
 * python3-rbd and to the CLI. Needs scripts/ceph-dev.sh (python3-rbd from Debian, /usr/bin/python3).
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { CommandPayloadSchema, type CommandPayload } from "../../gen/edgehub/common/v1/command_pb.js";
import { rbdExecutors } from "../../agent/executors/rbd-executors.js";
import { CephLink } from "../../agent/rbd/cluster.js";
import { RbdImages } from "../../agent/rbd/images.js";
import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const cycles = Number(arg("--cycles", "30"));
const block = Number(arg("--block", "5"));
const conf = arg("--conf", "/var/lib/edgehub-ceph-dev/plain/ceph.conf");
const POOL = "private-data-disks";
const CLONE_POOL = "private-data-disks-ssd";
const SIZE = 16 * 1024 * 1024;

const OPS = [
  "create",
  "resize",
  "snap_create",
  "snap_protect",
  "clone",
  "remove_clone",
  "snap_unprotect",
  "snap_remove",
  "remove",
  "cycle",
] as const;
type Op = (typeof OPS)[number];
type Samples = Record<Op, number[]>;
const empty = (): Samples => Object.fromEntries(OPS.map((o) => [o, []])) as unknown as Samples;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(2);
};
const summary = (s: Samples) => Object.fromEntries(OPS.map((op) => [op, { p50: pct(s[op], 50), p95: pct(s[op], 95) }]));

type Step = [Exclude<Op, "cycle">, () => Promise<unknown>];
async function timed(samples: Samples, steps: Step[]): Promise<void> {
  const t0 = performance.now();
  for (const [op, step] of steps) {
    const t = performance.now();
    await step();
    samples[op].push(performance.now() - t);
  }
  samples.cycle.push(performance.now() - t0);
}

function steps(exec: (op: Exclude<Op, "cycle">) => Promise<unknown>): Step[] {
  return OPS.filter((o): o is Exclude<Op, "cycle"> => o !== "cycle").map((op) => [op, () => exec(op)]);
}

async function main(): Promise<void> {
  const link = new CephLink({ conf, user: "admin", timeoutSeconds: 10 });
  const executors = rbdExecutors({ link, images: new RbdImages(link) });
  const controller = new AbortController();
  const ctx = { commandId: "bench", signal: controller.signal, deadline: new Date(Date.now() + 3_600_000) };
  const exec = (payload: CommandPayload) => {
    const k = payload.kind;
    return (executors[k.case!] as CommandExecutor)(k.value as never, ctx);
  };
  const cmd = (kind: string, value: object) => create(CommandPayloadSchema, { kind: { case: kind, value } as never });
  await link.cluster();

  const agent = empty();
  const cli = empty();
  const python = empty();
  const stamp = Date.now().toString(36);

  const agentCycle = async (i: number) => {
    const image = { pool: POOL, image: `bench-a-${stamp}-${i}` };
    const snapshot = { ...image, snapshot: "s" };
    const child = { pool: CLONE_POOL, image: `${image.image}-c` };
    const payloads: Record<Exclude<Op, "cycle">, CommandPayload> = {
      create: cmd("createRbdImage", { image, sizeBytes: BigInt(SIZE) }),
      resize: cmd("resizeRbdImage", { image, sizeBytes: BigInt(SIZE * 2) }),
      snap_create: cmd("createRbdSnapshot", { snapshot }),
      snap_protect: cmd("protectRbdSnapshot", { snapshot }),
      clone: cmd("cloneRbdImage", { parent: snapshot, child }),
      remove_clone: cmd("removeRbdImage", { image: child, removeSnapshots: false }),
      snap_unprotect: cmd("unprotectRbdSnapshot", { snapshot }),
      snap_remove: cmd("removeRbdSnapshot", { snapshot }),
      remove: cmd("removeRbdImage", { image, removeSnapshots: false }),
    };
    await timed(
      agent,
      steps((op) => exec(payloads[op])),
    );
  };

  const rbd = (...args: string[]) => run("rbd", ["-c", conf, ...args]);
  const cliCycle = async (i: number) => {
    const image = `${POOL}/bench-c-${stamp}-${i}`;
    const child = `${CLONE_POOL}/bench-c-${stamp}-${i}-c`;
    const cmds: Record<Exclude<Op, "cycle">, string[]> = {
      create: ["create", "--size", `${SIZE}B`, "--image-feature", "layering", image],
      resize: ["resize", "--size", `${SIZE * 2}B`, "--no-progress", image],
      snap_create: ["snap", "create", "--no-progress", `${image}@s`],
      snap_protect: ["snap", "protect", `${image}@s`],
      clone: ["clone", "--image-feature", "layering", `${image}@s`, child],
      remove_clone: ["rm", "--no-progress", child],
      snap_unprotect: ["snap", "unprotect", `${image}@s`],
      snap_remove: ["snap", "rm", "--no-progress", `${image}@s`],
      remove: ["rm", "--no-progress", image],
    };
    await timed(
      cli,
      steps((op) => rbd(...cmds[op])),
    );
  };

  const pythonBlock = async (from: number, n: number) => {
    const { stdout } = await run("/usr/bin/python3", [
      path.join(HERE, "cinder-path.py"),
      conf,
      POOL,
      CLONE_POOL,
      `bench-p-${stamp}-${from}`,
      String(n),
      String(SIZE),
    ]);
    const got = JSON.parse(stdout) as Samples;
    for (const op of OPS) python[op].push(...got[op]);
  };

  // Warm-up (first opens of each pool, the CLI's and Python's page cache), not counted.
  await agentCycle(-1);
  for (const op of OPS) agent[op].length = 0;
  await cliCycle(-1);
  for (const op of OPS) cli[op].length = 0;
  await pythonBlock(-1, 1);
  for (const op of OPS) python[op].length = 0;

  for (let done = 0; done < cycles; done += block) {
    const n = Math.min(block, cycles - done);
    for (let i = 0; i < n; i++) await agentCycle(done + i);
    for (let i = 0; i < n; i++) await cliCycle(done + i);
    await pythonBlock(done, n);
  }
  await link.close();

  const a = pct(agent.cycle, 50);
  const c = pct(cli.cycle, 50);
  const p = pct(python.cycle, 50);
  const load = (await run("cat", ["/proc/loadavg"])).stdout.trim();
  console.log(
    JSON.stringify(
      {
        bench: "rbd",
        cycles,
        block,
        loadavg: load,
        ms: { agent: summary(agent), rbd_cli: summary(cli), python3_rbd: summary(python) },
        cycle_p50_ratio: {
          agent_vs_python3_rbd: +(a / p).toFixed(3),
          agent_vs_rbd_cli: +(a / c).toFixed(3),
          rbd_cli_vs_python3_rbd: +(c / p).toFixed(3),
        },
        cycle_p95_ratio: {
          agent_vs_python3_rbd: +(pct(agent.cycle, 95) / pct(python.cycle, 95)).toFixed(3),
          agent_vs_rbd_cli: +(pct(agent.cycle, 95) / pct(cli.cycle, 95)).toFixed(3),
        },
        targets: { agent_vs_python3_rbd: "<= 1.2", agent_vs_rbd_cli: "< 0.3" },
      },
      null,
      1,
    ),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
