// bench/fleet: N simulated agents against a real hub, with a bare grpc-js echo server as the
// baseline, printing one JSON document. `npx tsx bench/fleet/run.ts --agents 1000`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { MachineType } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { adminFleetClient, pollUntil, type BenchWorker } from "./bench-processes.js";
import { runEchoBaseline } from "./echo-baseline.js";
import { createScratchDatabase } from "./scratch-postgres.js";
import {
  ADMIN_PASSWORD,
  hubStats,
  measureCommands,
  measureSteady,
  reconnectStorm,
  startAgents,
  startHubChild,
  workerStatus,
  writeCaFile,
  type HubChild,
} from "./hub-phases.js";

const { values: a } = parseArgs({
  options: {
    agents: { type: "string", default: "1000" },
    workers: { type: "string", default: "2" },
    "heartbeat-ms": { type: "string", default: "10000" },
    "window-s": { type: "string", default: "30" },
    commands: { type: "string", default: "300" },
    // One at a time: latency, not queueing, while the whole fleet heartbeats.
    "command-concurrency": { type: "string", default: "1" },
    "start-concurrency": { type: "string", default: "25" },
    storm: { type: "string", default: "crash" },
    "storm-observe-s": { type: "string", default: "80" },
    // A PostgreSQL server: the bench creates a scratch database on it and drops it at the end.
    postgres: { type: "string" },
    "hub-log-level": { type: "string", default: "warn" },
    "skip-baseline": { type: "boolean", default: false },
    "skip-storm": { type: "boolean", default: false },
  },
});
const agents = Number(a.agents);
const workers = Math.max(1, Math.min(Number(a.workers), agents));
const heartbeatMs = Number(a["heartbeat-ms"]);
const windowMs = Number(a["window-s"]) * 1000;
const stormMode = a.storm === "graceful" ? "graceful" : "crash";
let databaseUrl: string | undefined;
let dropDatabase: (() => Promise<void>) | undefined;
const progress = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-bench-"));
let hub: HubChild | undefined;
let agentWorkers: BenchWorker[] = [];

async function main() {
  if (a.postgres) ({ url: databaseUrl, drop: dropDatabase } = await createScratchDatabase(a.postgres));
  const result: Record<string, unknown> = {
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      loadAvg1AtStart: os.loadavg()[0],
    },
    config: {
      agents,
      workers,
      heartbeatMs,
      windowS: windowMs / 1000,
      database: databaseUrl ? "postgresql (local server, scratch database)" : "pglite (embedded, in the hub process)",
      storm: a["skip-storm"] ? "skipped" : stormMode,
    },
  };

  if (!a["skip-baseline"]) {
    progress(`baseline: bare grpc-js echo server, ${agents} TLS streams, one message per ${heartbeatMs} ms each`);
    result.baseline = await runEchoBaseline({ agents, workers, intervalMs: heartbeatMs, windowMs });
  }

  const hubArgs = [
    "--data-dir",
    path.join(workDir, "hub"),
    "--host",
    "127.0.0.1",
    "--http-port",
    "0",
    "--grpc-port",
    "0",
    "--log-level",
    a["hub-log-level"]!,
    "--heartbeat-interval",
    String(heartbeatMs),
  ];
  progress("hub: starting");
  hub = await startHubChild(hubArgs, databaseUrl);
  // Restart on the same ports (agents know the address) and the same hub id.
  hubArgs.splice(
    hubArgs.indexOf("--http-port"),
    4,
    "--http-port",
    String(hub.ready.httpPort),
    "--grpc-port",
    String(hub.ready.grpcPort),
  );
  const fleet = await adminFleetClient(hub.ready.httpPort, ADMIN_PASSWORD);
  const edgeDataCenterId = (
    await fleet.createEdgeDataCenter({ edgeDataCenter: { name: `bench-dc-${Date.now()}`, location: "bench" } })
  ).edgeDataCenter!.id;
  const computePoolId = (await fleet.createComputePool({ computePool: { name: `bench-pool-${Date.now()}` } }))
    .computePool!.id;
  const { token } = await fleet.createJoinToken({
    role: AgentRole.COMPUTE,
    edgeDataCenterId,
    computePoolId,
    maxUses: agents,
    ttlSeconds: 3600,
    machineType: MachineType.CPU_SERVER,
  });

  progress(`agents: enrolling and connecting ${agents} in ${workers} worker threads`);
  const t0 = Date.now();
  const started = await startAgents({
    agents,
    workers,
    hubAddress: `127.0.0.1:${hub.ready.grpcPort}`,
    hubCaFile: writeCaFile(workDir, hub.ready.caPem),
    joinToken: token,
    baseDir: path.join(workDir, "agents"),
    startConcurrency: Number(a["start-concurrency"]),
  });
  agentWorkers = started.workers;
  const up = await pollUntil(
    () => hubStats(hub!),
    (s) => s.connected >= agents - started.failures,
    600_000,
    500,
  );
  const enrollAndConnectSeconds = Math.round((Date.now() - t0) / 100) / 10;
  progress(
    `agents: ${up.value.connected} connected after ${enrollAndConnectSeconds} s (${started.failures} failed to start${started.firstError ? `: ${started.firstError}` : ""})`,
  );

  // One full heartbeat interval to settle (everyone's first beat and flush), then measure.
  await new Promise((r) => setTimeout(r, heartbeatMs));
  progress(`steady state: measuring for ${windowMs / 1000} s`);
  const steady = await measureSteady(hub, windowMs);
  const ws = await workerStatus(agentWorkers);
  result.hub = {
    enrollFailures: started.failures,
    firstEnrollError: started.firstError,
    enrollAndConnectSeconds,
    ...steady,
    agentsEstablishedClientSide: ws.established,
    benchProcessRssMiB: Math.round(ws.rssBytes / 2 ** 20),
  };

  progress(`commands: ${a.commands} echo round trips, ${a["command-concurrency"]} in flight`);
  const agentIds = (await Promise.all(agentWorkers.map((w) => w.ask<{ ids: string[] }>("agentIds")))).flatMap(
    (r) => r.ids,
  );
  result.commands = await measureCommands(fleet, agentIds, Number(a.commands), Number(a["command-concurrency"]));

  if (!a["skip-storm"]) {
    progress(
      `reconnect storm: ${stormMode} restart of the hub under ${up.value.connected} agents, observing ${a["storm-observe-s"]} s`,
    );
    const storm = await reconnectStorm({
      hub,
      mode: stormMode,
      agents: up.value.connected,
      args: hubArgs,
      databaseUrl,
      observeMs: Number(a["storm-observe-s"]) * 1000,
    });
    hub = storm.hub;
    result.storm = storm.result;
  }

  const h = result.hub as { connected: number; hubRssMiB: number; heartbeatDbWritesPerSecond: number };
  const c = result.commands as { roundTripMs: { p99?: number } };
  const s = result.storm as
    { allReconnectedAfterMs?: number; falseOfflineAgents: number; agentOfflineEvents: number } | undefined;
  result.targets = {
    connected10000: h.connected >= 10_000,
    commandP99Under50ms: (c.roundTripMs.p99 ?? Infinity) < 50,
    hubRssUnder2GiB: h.hubRssMiB < 2048,
    heartbeatWritesAtMost50PerSecond: h.heartbeatDbWritesPerSecond <= 50,
    stormRecoveredUnder60s: s ? (s.allReconnectedAfterMs ?? Infinity) < 60_000 : null,
    stormNoFalseOffline: s ? s.falseOfflineAgents === 0 && s.agentOfflineEvents === 0 : null,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

async function cleanup() {
  await Promise.all(
    agentWorkers.map(async (w) => {
      await Promise.race([w.ask("stop", "stopped"), new Promise((r) => setTimeout(r, 15_000))]);
      await w.worker.terminate();
    }),
  );
  if (hub && hub.proc.exitCode === null) {
    await Promise.race([hub.rpc.call("stop"), new Promise((r) => setTimeout(r, 15_000))]);
    // Let it exit by itself (a --cpu-prof profile is written at exit), then make sure.
    await Promise.race([hub.exited, new Promise((r) => setTimeout(r, 5_000))]);
    hub.proc.kill("SIGKILL");
  }
  await dropDatabase?.().catch(() => undefined);
  fs.rmSync(workDir, { recursive: true, force: true });
}

main()
  .catch((err: unknown) => {
    process.stderr.write(
      `bench failed: ${(err as Error).stack ?? String(err)}\n${hub ? `hub stderr:\n${hub.stderr()}\n` : ""}`,
    );
    process.exitCode = 1;
  })
  .finally(() => cleanup().then(() => process.exit()));
