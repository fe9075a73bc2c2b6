/**
 * bench/libvirt: define+start+destroy+undefine cycles on a real libvirtd (QEMU/TCG) through the
 * agent's libvirt layer (DomainOps over koffi, what the domain executors call), through `virsh`
 * spawned per operation, and through python3-libvirt (OpenStack Nova's path), in the same run with
 * the same domain XML. The overlay is created once beforehand: qemu-img is outside all three paths.
 *
 *   npx tsx bench/libvirt/bench-libvirt.ts [--cycles 20] [--uri qemu:///system]
 *
 * Prints JSON: p50/p99 milliseconds per op and per cycle for each path, and each path's cycle p50
 * relative to python3-libvirt. Needs scripts/libvirt-dev.sh and scripts/build-test-image.sh.
 */
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { DomainSpecSchema, GraphicsProtocol, ImageContentFormat } from "../../gen/edgehub/common/v1/compute_pb.js";
import { LibvirtConnection } from "../../agent/libvirt/connection.js";
import { DomainOps } from "../../agent/libvirt/domain-ops.js";
import { buildDomainXml } from "../../agent/libvirt/domain-xml.js";

const run = promisify(execFile);
const arg = (flag: string, fallback: string) => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const cycles = Number(arg("--cycles", "20"));
const uri = arg("--uri", "qemu:///system");
const OPS = ["define", "start", "destroy", "undefine", "cycle"] as const;
type Samples = Record<(typeof OPS)[number], number[]>;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(2);
};
const summary = (s: Samples) => Object.fromEntries(OPS.map((op) => [op, { p50: pct(s[op], 50), p99: pct(s[op], 99) }]));
const empty = (): Samples => ({ define: [], start: [], destroy: [], undefine: [], cycle: [] });

async function timed(samples: Samples, steps: [keyof Samples, () => Promise<unknown>][]): Promise<void> {
  const t0 = performance.now();
  for (const [op, step] of steps) {
    const t = performance.now();
    await step();
    samples[op].push(performance.now() - t);
  }
  samples.cycle.push(performance.now() - t0);
}

async function main(): Promise<void> {
  const { stdout } = await run("bash", ["scripts/build-test-image.sh", "/var/lib/edgehub-test-image"]);
  const base = stdout.trim().split("\n")[0]!;
  const dir = "/var/lib/edgehub-bench-libvirt";
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const overlay = path.join(dir, "system.qcow2");
  if (!fs.existsSync(overlay))
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay]);
  const uuid = "0193e0a0-0000-7000-8000-0000000b0b01";
  const name = "edgehub-bench";
  const xml = buildDomainXml(
    create(DomainSpecSchema, {
      name,
      uuid,
      vcpus: 1,
      memoryMib: 128n,
      systemDisk: { image: { sha256: "x", format: ImageContentFormat.QCOW2 } },
      graphics: { protocol: GraphicsProtocol.VNC, listen: "127.0.0.1", password: "bench123" },
      network: "none",
      instanceId: "bench",
    }),
    { type: "qemu", overlayPath: overlay, serialLogPath: path.join(dir, "serial.log") },
  );
  const xmlFile = path.join(dir, "domain.xml");
  fs.writeFileSync(xmlFile, xml);
  // A previous run's leftover would make define a no-op.
  await run("virsh", ["-c", uri, "destroy", name]).catch(() => {});
  await run("virsh", ["-c", uri, "undefine", name]).catch(() => {});

  // Warm-up: libvirtd's first QEMU start after a daemon start probes capabilities.
  const conn = await LibvirtConnection.open(uri, { poolSize: 1 });
  const ops = new DomainOps(conn);
  const agentCycle = (s: Samples) =>
    timed(s, [
      ["define", () => ops.define(uuid, xml)],
      ["start", () => ops.start(name)],
      ["destroy", () => ops.destroy(name)],
      ["undefine", () => ops.undefine(name)],
    ]);
  await agentCycle(empty());

  // Interleaved round by round (agent, virsh, python) so the machine's load drifts over all three alike.
  const agent = empty();
  const virsh = empty();
  const python = empty();
  const v =
    (...args: string[]) =>
    () =>
      run("virsh", ["-c", uri, ...args]);
  const script = path.join(import.meta.dirname, "nova-path.py");
  for (let i = 0; i < cycles; i++) {
    await agentCycle(agent);
    await timed(virsh, [
      ["define", v("define", "--validate", xmlFile)],
      ["start", v("start", name)],
      ["destroy", v("destroy", name)],
      ["undefine", v("undefine", "--managed-save", "--snapshots-metadata", "--nvram", "--checkpoints-metadata", name)],
    ]);
    // One cycle per Python process: it times itself, so interpreter start-up is not counted.
    const py = JSON.parse((await run("/usr/bin/python3", [script, uri, xmlFile, name, "1"])).stdout) as Samples;
    for (const op of OPS) python[op].push(...py[op]);
  }
  await conn.close();

  const results = { agent: summary(agent), virsh: summary(virsh), python3_libvirt: summary(python) };
  const ratio = (s: Samples) => +(pct(s.cycle, 50) / pct(python.cycle, 50)).toFixed(3);
  const opRatio = (s: Samples) =>
    Object.fromEntries(OPS.map((op) => [op, +(pct(s[op], 50) / pct(python[op], 50)).toFixed(3)]));
  process.stdout.write(
    JSON.stringify(
      {
        uri,
        cycles,
        when: new Date().toISOString(),
        ms: results,
        p50_ratio_vs_python3_libvirt: { agent: opRatio(agent), virsh: opRatio(virsh) },
        cycle_p50_ratio_vs_python3_libvirt: { agent: ratio(agent), virsh: ratio(virsh) },
      },
      null,
      2,
    ) + "\n",
  );
}

main().catch((err) => {
  process.stderr.write(`bench-libvirt: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
