import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export interface AgentProcess {
  readonly proc: ChildProcess;
  readonly stateDir: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(sig?: NodeJS.Signals): Promise<void>;
  /** Kills the process (SIGKILL) and removes the state directory if spawnAgent made it. */
  dispose(): Promise<void>;
}

export interface SpawnAgentOptions {
  hub: string;
  stateDir?: string;
  joinToken?: string;
  role?: string;
  hostname?: string;
  env?: Record<string, string>;
  extraArgs?: string[];
  program?: "agent" | "cloudbox";
  /** Send host metrics (off by default to keep tests light). */
  metrics?: boolean;
}

/** Starts `agent/main.ts` (or the cloud box client) as a real child process. */
export function spawnAgent(options: SpawnAgentOptions): AgentProcess {
  const stateDir = options.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-agent-"));
  const script = options.program === "cloudbox" ? "cloudbox-firmware-client/main.ts" : "agent/main.ts";
  const args = [
    "--import",
    "tsx",
    path.join(ROOT, script),
    "--hub",
    options.hub,
    "--state-dir",
    stateDir,
    "--log-format",
    "json",
  ];
  if (!options.metrics) args.push("--no-metrics");
  if (options.joinToken) args.push("--join-token", options.joinToken);
  if (options.role && options.program !== "cloudbox") args.push("--role", options.role);
  if (options.hostname) args.push("--hostname", options.hostname);
  args.push(...(options.extraArgs ?? []));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EDGEHUB_LOG_LEVEL: process.env.TEST_AGENT_LOG_LEVEL ?? "info",
    ...options.env,
  };
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    stateDir,
    exited,
    output: () => out,
    async kill(sig: NodeJS.Signals = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
      await exited;
    },
    async dispose() {
      await this.kill();
      if (!options.stateDir) fs.rmSync(stateDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/**
 * Kills every agent, then removes the state directories spawnAgent made for them (after all are
 * dead: a restarted agent may share its predecessor's directory). For after/afterEach hooks.
 */
export async function disposeAgents(agents: readonly AgentProcess[]): Promise<void> {
  await Promise.all(agents.map((a) => a.kill()));
  await Promise.all(agents.map((a) => a.dispose()));
}

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes (then fails with `what`). The
 * deadline only bounds a failure; it is generous because a loaded 2-core machine is slow.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`Timed out waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ""}`);
}
