// A worker thread running many simulated agents: each is the real lib/fleet-session FleetSession
// (grpc-js client, its own key and certificate from the real Enroll RPC, Hello/Welcome,
// heartbeats at the hub's interval, full-jitter reconnects) with a static inventory.
import path from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import pino from "pino";
import { create } from "@bufbuild/protobuf";
import { CommandResultSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import type { CommandExecutors } from "../../lib/fleet-session/command-dispatcher.js";
import { FleetSession } from "../../lib/fleet-session/fleet-session.js";
import type { HostInventory } from "../../lib/host-facts/host-facts.js";

export interface AgentWorkerData {
  hub: string;
  hubCaFile: string;
  joinToken: string;
  baseDir: string;
  firstIndex: number;
  count: number;
  /** Enrollments (key generation + Enroll RPC + first connect) in flight at once, per worker. */
  startConcurrency: number;
}

const data = workerData as AgentWorkerData;
const log = pino({ level: process.env.BENCH_AGENT_LOG_LEVEL ?? "silent" });
const executors: CommandExecutors = {
  echo: async (payload) => create(CommandResultSchema, { kind: { case: "echo", value: { message: payload.message } } }),
};

const inventoryOf = (hostname: string): HostInventory => ({
  hostname,
  cpu: { model: "Bench CPU", cores: 32, threads: 64 },
  memoryTotalBytes: 256 * 1024 ** 3,
  disks: [{ name: "nvme0n1", sizeBytes: 3.84e12, type: "nvme" }],
  nics: [{ name: "eth0", mac: "02:00:00:00:00:01", ipv4: "10.0.0.1", speedMbps: 25000 }],
  os: { platform: "linux", distro: "Ubuntu", release: "22.04", kernel: "5.15.0", arch: "x64" },
  hypervisorType: "kvm",
  gpus: [],
});

const sessions: FleetSession[] = [];
let failures = 0;
let firstError: string | undefined;

async function startAll(): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < data.count) {
      const i = data.firstIndex + next++;
      const hostname = `bench-${String(i).padStart(5, "0")}`;
      const inventory = inventoryOf(hostname);
      const session = new FleetSession({
        hub: data.hub,
        role: "compute",
        stateDir: path.join(data.baseDir, hostname),
        joinToken: data.joinToken,
        hubCaFile: data.hubCaFile,
        hostname,
        agentVersion: "bench",
        executors,
        collectInventory: async () => inventory,
        log,
      });
      try {
        await session.start();
        sessions.push(session);
      } catch (err) {
        failures++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: data.startConcurrency }, lane));
}

function status() {
  return {
    started: sessions.length,
    established: sessions.filter((s) => s.state === "established").length,
    failures,
    firstError,
    rssBytes: process.memoryUsage().rss,
  };
}

parentPort!.on("message", async (m: { type: string }) => {
  if (m.type === "status") parentPort!.postMessage({ type: "status", ...status() });
  if (m.type === "agentIds")
    parentPort!.postMessage({ type: "agentIds", ids: sessions.map((s) => s.identity!.agentId) });
  if (m.type === "stop") {
    await Promise.all(sessions.map((s) => s.stop()));
    parentPort!.postMessage({ type: "stopped" });
  }
});

void startAll().then(() => parentPort!.postMessage({ type: "started", ...status() }));
