import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { ChildRpc } from "./child-ipc.js";

const TSX = ["--import", "tsx"];
// Node 20 workers ignore --import in execArgv; a tiny bootstrap registers tsx, then loads the .ts module.
const TSX_API = pathToFileURL(
  createRequire(import.meta.url)
    .resolve("tsx/esm/api")
    .replace(/\.cjs$/, ".mjs"),
).href;
const bootstrap = (script: URL) =>
  `import(${JSON.stringify(TSX_API)}).then((m) => { m.register(); return import(${JSON.stringify(script.href)}); });`;

export interface ForkedChild<R> {
  readonly proc: ChildProcess;
  readonly rpc: ChildRpc;
  readonly ready: R;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

/** Forks a bench child (.ts through tsx) with IPC and waits for its `{type: "ready"}` message. */
export function forkChild<R>(
  script: URL,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 120_000,
): Promise<ForkedChild<R>> {
  // BENCH_CHILD_NODE_ARGS adds node flags NODE_OPTIONS refuses, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.BENCH_CHILD_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const proc = fork(script, args, { execArgv: [...TSX, ...extra], env, stdio: ["ignore", "pipe", "pipe", "ipc"] });
  let err = "";
  proc.stderr!.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-20_000)));
  // BENCH_LOG_DIR keeps each child's output (the hub logs JSON at warn to stdout) for a post-mortem.
  if (process.env.BENCH_LOG_DIR) {
    const log = fs.createWriteStream(
      path.join(process.env.BENCH_LOG_DIR, `${path.basename(script.pathname, ".ts")}-${proc.pid}.log`),
    );
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
  } else {
    proc.stdout!.resume();
  }
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${script.pathname} did not start in ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    proc.on("message", (m: { type?: string }) => {
      if (m.type !== "ready") return;
      clearTimeout(timer);
      resolve({ proc, rpc: new ChildRpc(proc), ready: m as R, exited, stderr: () => err });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script.pathname} exited early (${code}):\n${err}`));
    });
  });
}

/** A worker thread running a .ts module through tsx, with request/response by message type. */
export class BenchWorker {
  readonly worker: Worker;
  private readonly waiting = new Map<string, ((m: Record<string, unknown>) => void)[]>();

  constructor(script: URL, workerData: unknown) {
    this.worker = new Worker(bootstrap(script), { eval: true, workerData });
    this.worker.on("message", (m: { type: string }) =>
      this.waiting.get(m.type)?.shift()?.(m as Record<string, unknown>),
    );
    this.worker.on("error", (e) => process.stderr.write(`bench worker failed: ${e.stack ?? e}\n`));
  }

  /** Resolves with the next message of `type` (registered before `send` so none is missed). */
  next<T>(type: string): Promise<T> {
    return new Promise((resolve) => {
      const list = this.waiting.get(type) ?? [];
      list.push(resolve as (m: Record<string, unknown>) => void);
      this.waiting.set(type, list);
    });
  }

  ask<T>(type: string, replyType = type): Promise<T> {
    const reply = this.next<T>(replyType);
    this.worker.postMessage({ type });
    return reply;
  }
}

/** A FleetService client logged in as the first admin. */
export async function adminFleetClient(httpPort: number, password: string): Promise<Client<typeof FleetService>> {
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const { token } = await createClient(AuthService, createConnectTransport({ baseUrl, httpVersion: "1.1" })).login({
    username: "admin",
    password,
  });
  return createClient(
    FleetService,
    createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return next(req);
        },
      ],
    }),
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` is truthy or `timeoutMs` passes; returns the last value either way. */
export async function pollUntil<T>(
  check: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 250,
): Promise<{ value: T; ok: boolean }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (done(value)) return { value, ok: true };
    if (Date.now() > until) return { value, ok: false };
    await sleep(everyMs);
  }
}
