import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const FAKE_VIEWER = path.join(ROOT, "test/cloud-boxes/fake-viewer.sh");

export interface BoxProcess {
  readonly proc: ChildProcess;
  readonly stateDir: string;
  /** Where the fake viewer records its arguments and the .vv file. */
  readonly viewerRecord: string;
  /** The box's screen (stdout). */
  screen(): string;
  /** Everything, screen and logs. */
  output(): string;
  /** Types a line on the box's keyboard (stdin). */
  type(line: string): void;
  waitForScreen(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The viewer's record once it exists, parsed: pid, args and the .vv keys. */
  viewer(): ViewerRecord | undefined;
  kill(sig?: NodeJS.Signals): Promise<void>;
  /** Kills the box and its viewer and removes its state directory. */
  dispose(): Promise<void>;
}

export interface ViewerRecord {
  pid: number;
  args: string;
  vv: Record<string, string>;
}

export interface SpawnBoxOptions {
  hub: string;
  joinToken?: string;
  apiUrl?: string;
  serial: string;
  mac?: string;
  stateDir?: string;
  extraArgs?: string[];
  metrics?: boolean;
  /**
   * Run the compiled client (dist/, from `npm run build`) instead of the TypeScript through tsx:
   * about a third of the memory and CPU per box, for tests that start many (notes: /work/notes/boxes.md).
   */
  compiled?: boolean;
  /** Flags for node itself, e.g. ["--max-semi-space-size=1"] to trim each box's memory. */
  nodeArgs?: string[];
}

/** The compiled client, when `npm run build` has produced it. */
export const COMPILED_BOX = path.join(ROOT, "dist/cloudbox-firmware-client/main.js");

/** Starts `cloudbox-firmware-client/main.ts` (edgehub-cloudbox) as a real process with the fake viewer. */
export function spawnBox(o: SpawnBoxOptions): BoxProcess {
  const stateDir = o.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-box-"));
  const viewerRecord = path.join(stateDir, "viewer-record.txt");
  const program = o.compiled
    ? [COMPILED_BOX]
    : ["--import", "tsx", path.join(ROOT, "cloudbox-firmware-client/main.ts")];
  const args = [
    ...(o.nodeArgs ?? []),
    ...program,
    "--hub",
    o.hub,
    "--state-dir",
    stateDir,
    "--log-format",
    "json",
    "--serial-number",
    o.serial,
    "--viewer-cmd",
    `${FAKE_VIEWER} ${viewerRecord}`,
    "--retry-base-ms",
    "200",
    "--retry-cap-ms",
    "2000",
  ];
  if (o.metrics === false) args.push("--no-metrics");
  if (o.mac) args.push("--mac-address", o.mac);
  if (o.joinToken) args.push("--join-token", o.joinToken);
  if (o.apiUrl) args.push("--api-url", o.apiUrl);
  args.push(...(o.extraArgs ?? []));
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, EDGEHUB_LOG_LEVEL: process.env.TEST_AGENT_LOG_LEVEL ?? "info" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  let all = "";
  proc.stdout!.on("data", (c: Buffer) => {
    screen += c.toString();
    all += c.toString();
  });
  proc.stderr!.on("data", (c: Buffer) => (all += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const viewer = (): ViewerRecord | undefined => {
    if (!fs.existsSync(viewerRecord)) return undefined;
    const lines = fs.readFileSync(viewerRecord, "utf8").split("\n");
    const vv: Record<string, string> = {};
    for (const l of lines.slice(3)) {
      const i = l.indexOf("=");
      if (i > 0) vv[l.slice(0, i)] = l.slice(i + 1);
    }
    return {
      pid: Number(lines[0]!.replace("pid=", "")),
      args: lines[1]!.replace("args=", ""),
      vv: { section: lines[2] ?? "", ...vv },
    };
  };
  const box: BoxProcess = {
    proc,
    stateDir,
    viewerRecord,
    screen: () => screen,
    output: () => all,
    type: (line) => proc.stdin!.write(`${line}\n`),
    viewer,
    async waitForScreen(pattern, timeoutMs = 120_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (pattern.test(screen)) return screen;
        if (proc.exitCode !== null || proc.signalCode !== null)
          throw new Error(`The box exited before showing ${pattern}:\n${all}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`The box did not show ${pattern} within ${timeoutMs} ms:\n${all}`);
    },
    async kill(sig: NodeJS.Signals = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
      await exited;
    },
    async dispose() {
      await box.kill();
      const v = viewer();
      if (v) {
        try {
          process.kill(v.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      if (!o.stateDir) fs.rmSync(stateDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  return box;
}
