import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface HubProcess {
  readonly proc: ChildProcess;
  readonly httpPort: number;
  readonly grpcPort: number;
  /** Where /metrics answers (a port of its own, chosen by the OS). */
  readonly metricsPort: number | undefined;
  /** Everything the process wrote so far (stdout + stderr). */
  output(): string;
  /** Sends a signal and resolves with the exit code (or signal name) and how long the exit took. */
  signal(sig: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnHubOptions {
  args: string[];
  /** Run the hub with this many file descriptors at most (soft and hard), through prlimit. */
  nofile?: number;
  env?: Record<string, string | undefined>;
  /** Deadline for "Hub running"; generous, as a loaded 2-core machine takes tens of seconds. */
  timeoutMs?: number;
}

/** Starts `hub/main.ts` as a real child process and waits until it logs "Hub running". */
export function spawnHub(options: SpawnHubOptions): Promise<HubProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, HUB_LOG_FORMAT: "json", HUB_LOG_LEVEL: "info" };
  delete env.DATABASE_URL;
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const node = [
    process.execPath,
    "--import",
    "tsx",
    path.join(ROOT, "hub/main.ts"),
    "--metrics-listen",
    "127.0.0.1:0",
    ...options.args,
  ];
  // prlimit execs node in place: the child's pid is the hub's, so signals reach it directly.
  const command = options.nofile ? ["prlimit", `--nofile=${options.nofile}:${options.nofile}`, "--", ...node] : node;
  const proc = spawn(command[0]!, command.slice(1), { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`Hub did not start within ${options.timeoutMs ?? 120_000} ms:\n${out}`));
    }, options.timeoutMs ?? 120_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split("\n")) {
        if (!line.includes('"Hub running"')) continue;
        try {
          const entry = JSON.parse(line) as { httpPort: number; grpcPort: number; metricsPort?: number };
          clearTimeout(timer);
          resolve({
            proc,
            httpPort: entry.httpPort,
            grpcPort: entry.grpcPort,
            metricsPort: entry.metricsPort,
            exited,
            output: () => out,
            async signal(sig) {
              const started = Date.now();
              proc.kill(sig);
              const r = await exited;
              return { ...r, ms: Date.now() - started };
            },
          });
          return;
        } catch {
          // partial line; wait for more
        }
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    void exited.then((r) => {
      clearTimeout(timer);
      reject(new Error(`Hub exited early (${r.code ?? r.signal}):\n${out}`));
    });
  });
}
