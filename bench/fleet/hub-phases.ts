import fs from "node:fs";
import path from "node:path";
import type { Client } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { CommandState, type FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { BenchWorker, forkChild, pollUntil, sleep, type ForkedChild } from "./bench-processes.js";
import { cpuPercent, type ProcessSample } from "./child-ipc.js";
import { summarize } from "./percentiles.js";

export type HubStats = ProcessSample & {
  heartbeats: number;
  connected: number;
  statements: number;
  writes: number;
  heartbeatWrites: number;
};
export type HubChild = ForkedChild<{ httpPort: number; grpcPort: number; caPem: string }>;
export const ADMIN_PASSWORD = "bench-admin-password-1";

export function startHubChild(args: string[], databaseUrl: string | undefined): Promise<HubChild> {
  const env = { ...process.env, HUB_ADMIN_PASSWORD: ADMIN_PASSWORD, DATABASE_URL: databaseUrl ?? "" };
  return forkChild(new URL("./hub-child.ts", import.meta.url), args, env);
}

export const hubStats = (hub: HubChild) => hub.rpc.call<HubStats>("stats");

interface WorkerStatus {
  started: number;
  established: number;
  failures: number;
  firstError?: string;
  rssBytes: number;
}

/** Starts the agent workers; each enrolls its agents (real Enroll RPC, own key) and connects them. */
export async function startAgents(o: {
  agents: number;
  workers: number;
  hubAddress: string;
  hubCaFile: string;
  joinToken: string;
  baseDir: string;
  startConcurrency: number;
}) {
  const workers: BenchWorker[] = [];
  let first = 0;
  for (let w = 0; w < o.workers; w++) {
    const count = Math.floor(o.agents / o.workers) + (w < o.agents % o.workers ? 1 : 0);
    workers.push(
      new BenchWorker(new URL("./agent-worker.ts", import.meta.url), {
        hub: o.hubAddress,
        hubCaFile: o.hubCaFile,
        joinToken: o.joinToken,
        baseDir: o.baseDir,
        firstIndex: first,
        count,
        startConcurrency: o.startConcurrency,
      }),
    );
    first += count;
  }
  const started = await Promise.all(workers.map((w) => w.next<WorkerStatus>("started")));
  return {
    workers,
    failures: started.reduce((s, r) => s + r.failures, 0),
    firstError: started.find((r) => r.firstError)?.firstError,
  };
}

export async function workerStatus(workers: BenchWorker[]) {
  const all = await Promise.all(workers.map((w) => w.ask<WorkerStatus>("status")));
  return { established: all.reduce((s, r) => s + r.established, 0), rssBytes: Math.max(...all.map((r) => r.rssBytes)) };
}

/** Steady state: heartbeat ingest, database writes, hub RSS and CPU over a window. */
export async function measureSteady(hub: HubChild, windowMs: number) {
  const a = await hubStats(hub);
  await sleep(windowMs);
  const b = await hubStats(hub);
  const perSecond = (x: number) => Math.round((x * 10_000) / (b.at - a.at)) / 10;
  return {
    connected: b.connected,
    heartbeatsPerSecond: perSecond(b.heartbeats - a.heartbeats),
    heartbeatDbWritesPerSecond: perSecond(b.heartbeatWrites - a.heartbeatWrites),
    dbWritesPerSecond: perSecond(b.writes - a.writes),
    dbStatementsPerSecond: perSecond(b.statements - a.statements),
    hubRssMiB: Math.round(b.rssBytes / 2 ** 20),
    hubCpuPercent: cpuPercent(a, b),
  };
}

const FINAL = new Set([CommandState.SUCCEEDED, CommandState.FAILED, CommandState.CANCELLED, CommandState.EXPIRED]);

/** Echo commands through the durable queue: admin API → row + NOTIFY → stream → agent → update. */
export async function measureCommands(
  fleet: Client<typeof FleetService>,
  agentIds: string[],
  count: number,
  concurrency: number,
) {
  const hubMs: number[] = [];
  const clientMs: number[] = [];
  let failed = 0;
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      const { command } = await fleet.runDiagnostic({
        agentId: agentIds[(i * 7919) % agentIds.length]!,
        payload: { kind: { case: "echo", value: { message: String(i) } } },
        deadlineSeconds: 60,
      });
      let c = command!;
      while (!FINAL.has(c.state)) {
        await sleep(5);
        c = (await fleet.getCommand({ id: c.id })).command!;
      }
      clientMs.push(performance.now() - t0);
      if (c.state !== CommandState.SUCCEEDED) failed++;
      else hubMs.push(timestampDate(c.finishTime!).getTime() - timestampDate(c.createTime!).getTime());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { count, failed, concurrency, roundTripMs: summarize(hubMs), clientObservedMs: summarize(clientMs) };
}

/** Kills (or stops) the hub under its agents, starts it again on the same ports and data, and watches them come back. */
export async function reconnectStorm(o: {
  hub: HubChild;
  mode: "crash" | "graceful";
  agents: number;
  args: string[];
  databaseUrl: string | undefined;
  observeMs: number;
}) {
  const t0 = Date.now();
  if (o.mode === "crash") o.hub.proc.kill("SIGKILL");
  else await o.hub.rpc.call("stop");
  await o.hub.exited;
  const hub = await startHubChild(o.args, o.databaseUrl);
  const hubBackAfterMs = Date.now() - t0;
  const back = await pollUntil(
    () => hubStats(hub),
    (s) => s.connected >= o.agents,
    o.observeMs,
    250,
  );
  const allReconnectedAfterMs = back.ok ? Date.now() - t0 : undefined;
  // Keep watching past the restart grace: a false offline would show up at the first sweep after it.
  const rest = o.observeMs - (Date.now() - t0);
  if (rest > 0) await sleep(rest);
  const offline = await hub.rpc.call<{ agentsOffline: number; machinesOffline: number; offlineEvents: number }>(
    "offline",
  );
  const finalStats = await hubStats(hub);
  return {
    hub,
    result: {
      mode: o.mode,
      hubBackAfterMs,
      allReconnectedAfterMs,
      reconnected: back.value.connected,
      connectedAtEnd: finalStats.connected,
      observedForMs: Date.now() - t0,
      falseOfflineAgents: offline.agentsOffline,
      falseOfflineMachines: offline.machinesOffline,
      agentOfflineEvents: offline.offlineEvents,
    },
  };
}

export function writeCaFile(dir: string, caPem: string): string {
  const file = path.join(dir, "hub-ca.crt");
  fs.writeFileSync(file, caPem);
  return file;
}
