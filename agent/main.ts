#!/usr/bin/env node
import { CommanderError } from "commander";
import { collectInventory, type CollectInventoryOptions } from "../lib/host-facts/collect-inventory.js";
import type { HostInventory } from "../lib/host-facts/host-facts.js";
import { sampleMetrics } from "../lib/host-facts/sample-metrics.js";
import type { CommandExecutors } from "../lib/fleet-session/command-dispatcher.js";
import { FleetSession } from "../lib/fleet-session/fleet-session.js";
import { createLogger } from "../lib/logging/create-logger.js";
import { createAgentMetrics, serveMetrics } from "./agent-metrics.js";
import { parseAgentConfig, type AgentConfig } from "./config.js";
import { collectInventoryExecutor } from "./executors/collect-inventory.js";
import { countingExecutor } from "./executors/counting.js";
import { lazyAgentImageCache } from "./image-cache/agent-image-cache.js";
import { StateDir } from "../lib/fleet-session/state-dir.js";
import { createComputeRole, type ComputeRole } from "./executors/domain-role.js";
import { echoExecutor } from "./executors/echo.js";
import { createCephGatewayRole, type CephGatewayRole } from "./executors/rbd-role.js";

export const AGENT_VERSION = "0.1.0";
const SIGNAL_ECHO_MS = 1_000;

/** The role-specific executor set behind the one session core. */
function executorsFor(
  config: AgentConfig,
  inventory: () => Promise<HostInventory>,
  compute: ComputeRole | undefined,
  cephGateway?: CephGatewayRole,
): CommandExecutors {
  return {
    echo: config.testCountFile ? countingExecutor(config.testCountFile, echoExecutor) : echoExecutor,
    collectInventory: collectInventoryExecutor(inventory),
    ...compute?.executors,
    ...cephGateway?.executors,
  };
}

async function main(): Promise<number> {
  let config: AgentConfig;
  try {
    config = parseAgentConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  const log = createLogger({
    name: "edgehub-agent",
    level: config.logLevel,
    ...(config.logPretty === undefined ? {} : { pretty: config.logPretty }),
  });
  const inventoryOptions: CollectInventoryOptions =
    config.role === "compute" ? { storagePath: config.instanceDir } : {};
  // The name the operator enrolled the machine under wins over the kernel's hostname.
  const inventory = async () => ({ ...(await collectInventory(inventoryOptions)), hostname: config.hostname });
  // GPUs seen at start: if nvidia-smi later fails they are reported in error instead of vanishing.
  let expectedGpus: HostInventory["gpus"] | undefined;
  const sampleMetricsWithInventoryGpus = async () => {
    expectedGpus ??= (await inventory()).gpus;
    return sampleMetrics({ expectedGpus });
  };
  const agentMetrics = createAgentMetrics();
  const metricsServer = config.metricsListen
    ? await serveMetrics(agentMetrics.registry, config.metricsListen.host, config.metricsListen.port)
    : undefined;
  if (metricsServer) log.info({ port: metricsServer.port }, "Serving agent metrics");
  // Images come from the hub over this agent's mTLS identity, read once it has enrolled.
  const imageCache =
    config.role === "compute"
      ? lazyAgentImageCache({
          dir: config.imageCacheDir,
          cacheGb: config.imageCacheGb,
          hub: config.hub,
          instanceDir: config.instanceDir,
          loadIdentity: () => new StateDir(config.stateDir).loadIdentity(),
        })
      : undefined;
  const compute = imageCache
    ? createComputeRole({
        libvirtUri: config.libvirtUri,
        domainType: config.domainType,
        instanceDir: config.instanceDir,
        ensureImage: imageCache.ensureImage,
        log: log.child({ component: "libvirt" }),
      })
    : undefined;
  const cephGateway =
    config.role === "ceph_gateway"
      ? createCephGatewayRole({ ...config.ceph, log: log.child({ component: "rbd" }) })
      : undefined;
  const code = await new Promise<number>((resolve) => {
    const session = new FleetSession({
      hub: config.hub,
      role: config.role,
      stateDir: config.stateDir,
      joinToken: config.joinToken,
      hubCaFile: config.hubCaFile,
      hostname: config.hostname,
      agentVersion: AGENT_VERSION,
      executors: executorsFor(config, inventory, compute, cephGateway),
      collectInventory: inventory,
      sampleMetrics: config.metrics ? () => sampleMetricsWithInventoryGpus() : undefined,
      sampleDomains: config.metrics ? compute?.sampleDomains : undefined,
      log,
      observer: agentMetrics.observer,
      onFatal: (err) => {
        log.fatal({ err }, err.message);
        void session.stop().then(() => resolve(3));
      },
    });
    compute?.reportLifecycle((e) => session.sendEvent(e));
    session.start().catch((err) => {
      log.fatal({ err }, `Agent failed to start: ${(err as Error).message}`);
      resolve(1);
    });
    let signals = 0;
    let first: { signal: NodeJS.Signals; at: number } | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      // Ctrl-C under `npm run agent` arrives twice (the terminal's and npm's forwarded copy): the
      // same signal again within a moment is that echo, not a second request.
      if (first && first.signal === signal && Date.now() - first.at < SIGNAL_ECHO_MS) return;
      first ??= { signal, at: Date.now() };
      if (++signals > 1) resolve(1);
      log.info({ signal }, "Signal received, stopping");
      void session.stop().then(() => resolve(0));
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  await compute?.close();
  await cephGateway?.close();
  imageCache?.close();
  await metricsServer?.close();
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err) => {
    process.stderr.write(`edgehub-agent: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
