// A hub for the benchmark: the real startHub in its own process (forked with IPC), with a
// counter on the database's query stream so the bench can report heartbeat-driven writes.
import { startHub } from "../../hub/hub.js";
import { parseHubConfig } from "../../hub/config.js";
import { openDatabase } from "../../hub/db/database.js";
import { createLogger } from "../../lib/logging/create-logger.js";
import { processSample, serveParent } from "./child-ipc.js";

const config = parseHubConfig(["--metrics-listen", "none", ...process.argv.slice(2)]);
const log = createLogger({ name: "bench-hub", level: config.logLevel, pretty: false });
const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: 20 });
const counts = { statements: 0, writes: 0, heartbeatWrites: 0 };
db.knex.on("query", (q: { sql?: string }) => {
  const sql = (q.sql ?? "").toLowerCase();
  counts.statements++;
  if (/^\s*(insert|update|delete)\b/.test(sql) || (/^\s*with\b/.test(sql) && /\b(insert|update|delete)\b/.test(sql))) {
    counts.writes++;
    if (sql.includes("last_heartbeat_at") && sql.includes("update")) counts.heartbeatWrites++;
  }
});
const hub = await startHub(config, { log, database: db, announce: () => undefined });

// A once-a-second timeline in the hub log (BENCH_LOG_DIR): event-loop lag and stream opens, to see where a storm stalls.
let lastTick = performance.now();
setInterval(async () => {
  const now = performance.now();
  const opens = (await hub.metrics.streamEvents.get()).values.find((v) => v.labels.event === "open")?.value ?? 0;
  const connected = (await hub.metrics.connectedAgents.get()).values.reduce((s, v) => s + v.value, 0);
  log.info({ lagMs: Math.round(now - lastTick - 1000), streamOpens: opens, connected }, "bench tick");
  lastTick = now;
}, 1000).unref();

serveParent(async (type) => {
  switch (type) {
    case "stats": {
      const heartbeats = (await hub.metrics.heartbeatsReceived.get()).values.reduce((s, v) => s + v.value, 0);
      const connected = (await hub.metrics.connectedAgents.get()).values.reduce((s, v) => s + v.value, 0);
      return { ...processSample(), heartbeats, connected, ...counts };
    }
    case "offline": {
      const one = async (q: Promise<{ n: number }[]>) => Number((await q)[0]?.n ?? 0);
      return {
        agentsOffline: await one(db.knex("agents").where({ status: "offline" }).count({ n: "*" }) as never),
        machinesOffline: await one(db.knex("compute_machines").where({ status: "offline" }).count({ n: "*" }) as never),
        offlineEvents: await one(db.knex("fleet_events").where({ kind: "agent_offline" }).count({ n: "*" }) as never),
      };
    }
    case "stop":
      await hub.stop();
      await db.close();
      setTimeout(() => process.exit(0), 50);
      return { stopped: true };
    default:
      throw new Error(`unknown request ${type}`);
  }
});
process.send?.({ type: "ready", httpPort: hub.httpPort, grpcPort: hub.grpcPort, caPem: hub.ca.certPem });
