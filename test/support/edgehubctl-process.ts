import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PassThrough, Readable } from "node:stream";
import { runCli } from "../../edgehubctl/program.js";
import { spawnInPty, type PtyProcess } from "./pty-process.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = ["--import", "tsx", path.join(ROOT, "edgehubctl/main.ts")];

export interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A home directory of its own for the CLI (config under $XDG_CONFIG_HOME), removed by `remove()`. */
export interface CtlHome {
  readonly dir: string;
  readonly configFile: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `edgehubctl ARGS` with plain pipes; `input` is written to stdin, which is then closed. */
  run(args: readonly string[], input?: string): Promise<CtlResult>;
  /**
   * Runs the same program inside this process (runCli with in-memory streams): for sweeps over
   * every kind, where a process per kind would cost seconds each.
   */
  runInProcess(args: readonly string[]): Promise<CtlResult>;
  /** Runs `edgehubctl ARGS` on a pseudo-terminal. */
  runInPty(args: readonly string[]): PtyProcess;
  /** Starts `edgehubctl ARGS` with pipes and leaves it running (for --watch). */
  start(args: readonly string[]): { output(): string; waitFor(p: RegExp): Promise<string>; stop(): Promise<number> };
  remove(): void;
}

export function createCtlHome(): CtlHome {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehubctl-test-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, ".config"),
    NO_COLOR: "1",
  };
  delete env.EDGEHUBCTL_CONFIG;
  return {
    dir,
    configFile: path.join(dir, ".config", "edgehubctl", "config.yaml"),
    env,
    run(args, input) {
      const child = spawn(process.execPath, [...ENTRY, ...args], { cwd: ROOT, env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
      child.stdin.end(input ?? "");
      return new Promise((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      });
    },
    async runInProcess(args) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = "";
      let err = "";
      stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
      stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
      const code = await runCli(args, { stdin: Readable.from([]), stdout, stderr, env });
      return { code, stdout: out, stderr: err };
    },
    runInPty: (args) => spawnInPty([process.execPath, ...ENTRY, ...args], { env, cwd: ROOT }),
    start(args) {
      const child = spawn(process.execPath, [...ENTRY, ...args], { cwd: ROOT, env });
      let out = "";
      const waiters = new Set<() => void>();
      const closed = new Promise<number>((resolve) =>
        child.once("close", (code) => {
          for (const w of [...waiters]) w();
          resolve(code ?? 1);
        }),
      );
      const onData = (c: Buffer) => {
        out += c.toString("utf8");
        for (const w of [...waiters]) w();
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      return {
        output: () => out,
        waitFor: (pattern) =>
          new Promise((resolve, reject) => {
            const check = () => {
              if (pattern.test(out)) {
                waiters.delete(check);
                resolve(out);
              } else if (child.exitCode !== null) {
                waiters.delete(check);
                reject(new Error(`exited before ${pattern}:\n${out}`));
              }
            };
            waiters.add(check);
            check();
          }),
        async stop() {
          if (child.exitCode === null) child.kill("SIGINT");
          return closed;
        },
      };
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
