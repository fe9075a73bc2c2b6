import os from "node:os";
import { ADVISORY_LOCK_KEYS } from "./db/advisory-lock-keys.js";
import { createContextValues, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { systemClock, type Clock } from "../lib/clock/clock.js";
import { AdminHttpServer } from "./api/admin-http-server.js";
import { authInterceptor } from "./api/auth-interceptor.js";
import { withCors } from "./api/cors.js";
import { textRulesInterceptor } from "./api/text-rules.js";
import { PolicyRegistry } from "./api/method-policy.js";
import { outcomeInterceptor } from "./api/outcome-interceptor.js";
import { remoteAddressKey } from "./api/request-context.js";
import { createPlainHttpApp } from "./api/plain-http-routes.js";
import { registerServices } from "./services.js";
import type { ServiceDeps } from "./service-deps.js";
import { resolveToken } from "./auth/token-store.js";
import { ensureFirstAdmin } from "./auth/first-admin.js";
import type { HubConfig } from "./config.js";
import { openDatabase, type Database } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { AgentEndpoint } from "./fleet/agent-endpoint.js";
import { agentServiceGrpc } from "./fleet/agent-service-grpc.js";
import { DirectoryImageContentStore } from "./image-content/directory-image-content-store.js";
import { imageContentRoutes } from "./image-content/image-content-http.js";
import { fetchImageContentHandler } from "./image-content/image-content-grpc.js";
import { startContentSweep } from "./image-content/content-sweep.js";
import { startFirmware } from "./firmware/firmware-runtime.js";
import { FleetAdmin } from "./fleet/fleet-admin.js";
import { FleetRuntime } from "./fleet/fleet-runtime.js";
import { recordAgentEvent } from "./instances/domain-events.js";
import { InstanceReconciler } from "./instances/instance-reconciler.js";
import { DiskReconciler } from "./disks/disk-reconciler.js";
import { AttachmentReconciler } from "./disk-attachments/attachment-reconciler.js";
import { onInstanceRunning } from "./disk-attachments/auto-attach.js";
import { StoragePoolRefresher } from "./disks/storage-pool-refresher.js";
import { startBindingExpiry } from "./cloud-boxes/binding-expiry.js";
import { cloudBoxAgentServiceGrpc } from "./cloud-boxes/startup-check-grpc.js";
import { placeInstance } from "./scheduler/place-instance.js";
import { releaseAllocation } from "./scheduler/release-allocation.js";
import { startMetricsMaintenance } from "./monitoring/metrics-maintenance.js";
import { recordMetrics } from "./monitoring/record-metrics.js";
import { createHubMetrics, type HubMetrics } from "./observability/hub-metrics.js";
import { MetricsServer } from "./observability/metrics-server.js";
import { loadOrCreateHubCa, writeCaCertificate } from "./pki/ca-store.js";
import type { HubCa } from "./pki/hub-ca.js";

/** Serialises first-start work (migrations, CA, first admin) across hubs sharing a database. */
const MAX_AGENT_MESSAGE_BYTES = 4 * 1024 * 1024;

export type HubState = "created" | "starting" | "running" | "stopping" | "stopped";

export interface RunningHub {
  readonly httpPort: number;
  readonly grpcPort: number;
  /** Where /metrics answers; undefined when --metrics-listen is none. */
  readonly metricsPort: number | undefined;
  readonly hubId: string;
  readonly db: Database;
  readonly ca: HubCa;
  readonly metrics: HubMetrics;
  /**
   * Resolves once the agent-stream bookkeeping already under way (a closed stream's session being
   * recorded, first command deliveries) has finished: a barrier for tests, not a shutdown step.
   */
  fleetSettled(): Promise<void>;
  /** Graceful stop; safe to call more than once. */
  stop(): Promise<void>;
}

export interface HubDeps {
  log: Logger;
  clock?: Clock;
  /** Where the one-time admin password goes; stdout by default. */
  announce?: (text: string) => void;
  /** An already open database (tests); the hub then leaves closing it to the caller. */
  database?: Database;
}

const AGENT_CLOSE_GRACE_MS = 2_000;

/** The composition root: builds every component of a hub from its config and starts them in order. */
export async function startHub(config: HubConfig, deps: HubDeps): Promise<RunningHub> {
  const log = deps.log;
  const clock = deps.clock ?? systemClock;
  const announce = deps.announce ?? ((text: string) => process.stdout.write(text));
  const metrics = createHubMetrics();

  const db =
    deps.database ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      log: log.child({ component: "db" }),
    }));
  // Run in order on stop (each new step goes first: reverse start order), each timed in the log.
  const cleanup: { step: string; run: () => Promise<void> }[] = deps.database
    ? []
    : [{ step: "database", run: () => db.close() }];
  try {
    log.info({ database: db.kind, dataDir: config.dataDir }, "Database opened");
    const { ca } = await db.withAdvisoryLock(ADVISORY_LOCK_KEYS.bootstrap, async () => {
      const migration = await migrateToLatest(db);
      if (migration.applied.length > 0) log.info({ applied: migration.applied }, "Database migrated");
      const now = clock.now();
      const caResult = await loadOrCreateHubCa(db.knex, now);
      if (caResult.created) log.info({ fingerprint: caResult.ca.fingerprint }, "Hub CA created");
      const admin = await ensureFirstAdmin(db.knex, { password: config.adminPassword, now });
      if (admin.generatedPassword) {
        announce(
          `\nFirst start: created user "admin" with password ${admin.generatedPassword}\nIt is shown once; set HUB_ADMIN_PASSWORD to choose it instead.\n\n`,
        );
      } else if (admin.created) {
        log.info("First start: created user admin with the password from HUB_ADMIN_PASSWORD");
      }
      return caResult;
    });
    writeCaCertificate(config.dataDir, ca);
    const serverCert = await ca.issueServerCertificate(config.advertisedNames, clock.now());

    // Instances converge to their desired state; the lease makes N hubs share one pass.
    const instanceReconciler = new InstanceReconciler({
      knex: db.knex,
      clock,
      log: log.child({ component: "instance-reconciler" }),
      placement: { releaseAllocation },
      lockKey: ADVISORY_LOCK_KEYS.instanceReconciler,
      intervalMs: 2000,
      graphicsListen: "",
      network: config.instanceNetwork,
      shutdownTimeoutMs: 60_000,
      onRunning: (trx, id, at) => onInstanceRunning(trx, id, at, log.child({ component: "disk-attachments" })),
    });
    instanceReconciler.start();
    cleanup.unshift({ step: "instance-reconciler", run: () => instanceReconciler.stop() });
    // Private data disks converge on their ceph_gateway's reports; pools follow the gateways' listings.
    const diskReconciler = new DiskReconciler({
      knex: db.knex,
      clock,
      log: log.child({ component: "disk-reconciler" }),
      lockKey: ADVISORY_LOCK_KEYS.diskReconciler,
      intervalMs: 1000,
    });
    diskReconciler.start();
    cleanup.unshift({ step: "disk-reconciler", run: () => diskReconciler.stop() });
    // Disk attachments follow the compute agents' attach/detach reports.
    const attachmentReconciler = new AttachmentReconciler({
      knex: db.knex,
      clock,
      log: log.child({ component: "disk-attachments" }),
      lockKey: ADVISORY_LOCK_KEYS.diskAttachments,
      intervalMs: 1000,
    });
    attachmentReconciler.start();
    cleanup.unshift({ step: "disk-attachment-reconciler", run: () => attachmentReconciler.stop() });
    const poolRefresher = new StoragePoolRefresher({
      knex: db.knex,
      clock,
      log: log.child({ component: "storage-pool-refresher" }),
      lockKey: ADVISORY_LOCK_KEYS.storagePoolRefresh,
      intervalMs: 1000,
      refreshMs: 60_000,
    });
    poolRefresher.start();
    cleanup.unshift({ step: "storage-pool-refresher", run: () => poolRefresher.stop() });
    const bindingExpiry = startBindingExpiry({
      knex: db.knex,
      clock,
      log: log.child({ component: "cloud-boxes" }),
      lockKey: ADVISORY_LOCK_KEYS.cloudBoxBindingExpiry,
      intervalMs: 5000,
    });
    cleanup.unshift({ step: "cloud-box-binding-expiry", run: () => bindingExpiry.stop() });
    const fleet = new FleetRuntime({
      db,
      ca,
      clock,
      log: log.child({ component: "fleet" }),
      metrics,
      options: {
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        metricsIntervalMs: config.metricsIntervalMs,
        restartGraceMs: config.restartGraceMs,
        drainSpreadMs: config.drainSpreadMs,
        certificateValidDays: 365,
      },
      onMetrics: async (agentId, sample) => void (await recordMetrics(db.knex, { agentId, sample, at: clock.now() })),
      onEvent: (e) => recordAgentEvent(db.knex, e, () => instanceReconciler.wake()),
    });
    // Hourly rollups and retention; the lease inside makes N hubs share one pass.
    const maintenance = startMetricsMaintenance({
      db,
      clock,
      intervalMs: config.metricsMaintenanceIntervalMs,
      log: log.child({ component: "metrics-maintenance" }),
    });
    cleanup.unshift({ step: "metrics-maintenance", run: () => maintenance.stop() });
    const fleetAdmin = new FleetAdmin({ knex: db.knex, clock, ca });
    const apiDeps: ServiceDeps = {
      db,
      knex: db.knex,
      clock,
      log: log.child({ component: "api" }),
      metrics,
      tokenTtlSeconds: config.tokenTtlSeconds,
      fleetAdmin,
      hubCaFingerprint: ca.fingerprint,
      wakeInstanceReconciler: () => instanceReconciler.wake(),
      wakeDiskReconciler: () => diskReconciler.wake(),
    };
    const policies = new PolicyRegistry();
    const handler = connectNodeAdapter({
      routes: (router: ConnectRouter) => registerServices(router, policies, apiDeps),
      interceptors: [
        outcomeInterceptor({ log: apiDeps.log, metrics }),
        authInterceptor({
          policies,
          resolveToken: async (token) => (await resolveToken(db.knex, token, clock.now()))?.principal,
        }),
        textRulesInterceptor(),
      ],
      readMaxBytes: config.maxRequestBytes,
      contextValues: (req) => createContextValues().set(remoteAddressKey, req.socket?.remoteAddress ?? ""),
      fallback: createPlainHttpApp({ knex: db.knex }).callback() as never,
    });
    const imageStore = await DirectoryImageContentStore.open(config.imageStoreDir);
    const contentSweep = startContentSweep({
      knex: db.knex,
      store: imageStore,
      clock,
      log: log.child({ component: "image-content" }),
    });
    cleanup.unshift({ step: "image-content-sweep", run: () => contentSweep.stop() });
    const imageContent = imageContentRoutes(
      { knex: db.knex, clock, log: apiDeps.log, store: imageStore, maxBytes: config.imageMaxBytes },
      handler,
    );
    const firmware = await startFirmware({ knex: db.knex, clock, log, dataDir: config.dataDir });
    cleanup.unshift({ step: "firmware", run: () => firmware.stop() });
    const http = new AdminHttpServer(withCors(config.corsOrigins, firmware.uploadRoutes(imageContent)), {
      headersTimeoutMs: config.httpHeadersTimeoutMs,
      idleTimeoutMs: config.httpIdleTimeoutMs,
      maxConnectionsPerAddress: config.httpMaxConnectionsPerAddress,
    });
    const httpPort = await http.listen(config.httpPort, config.host);
    cleanup.unshift({ step: "admin-http", run: () => http.close(config.shutdownTimeoutMs) });
    let metricsPort: number | undefined;
    if (config.metricsListen) {
      const metricsServer = new MetricsServer(metrics.registry);
      metricsPort = await metricsServer.listen(config.metricsListen.port, config.metricsListen.host);
      cleanup.unshift({ step: "metrics-http", run: () => metricsServer.close() });
    }

    // Stop order: drain agents and close the endpoint, then the fleet loops, then the rest.
    cleanup.unshift({ step: "fleet", run: () => fleet.stop() });
    const agents = new AgentEndpoint({
      caPem: ca.certPem,
      server: serverCert,
      services: [
        agentServiceGrpc(fleet, {
          fetchImageContent: fetchImageContentHandler({
            knex: db.knex,
            caSubject: fleet.caSubject,
            clock,
            log: log.child({ component: "agent-service" }),
            store: imageStore,
          }),
        }),
        firmware.contentService(fleet.caSubject),
        cloudBoxAgentServiceGrpc({
          knex: db.knex,
          clock,
          caSubject: fleet.caSubject,
          log,
          placement: { placeInstance, releaseAllocation },
          wakeReconciler: () => instanceReconciler.wake(),
          startTimeoutMs: 10 * 60_000,
          consoleWaitMs: 15_000,
          retryAfterMs: 2000,
        }),
      ],
      maxReceiveMessageBytes: MAX_AGENT_MESSAGE_BYTES,
      limits: {
        firstByteTimeoutMs: config.agentFirstByteTimeoutMs,
        maxConnectionsPerAddress: config.agentMaxConnectionsPerAddress,
      },
    });
    const grpcPort = await agents.listen(config.host, config.grpcPort);
    cleanup.unshift({
      step: "agent-endpoint",
      run: async () => {
        fleet.drainAgents();
        // Every stream now has its Drain and is ended; what is left is the agents closing their
        // connections, which a busy client host can take seconds to get to (10 000 simulated agents:
        // 5 s). Nothing more is owed to them, so the wait is short; Enroll calls get the same grace.
        await agents.close(Math.min(config.shutdownTimeoutMs, AGENT_CLOSE_GRACE_MS));
      },
    });
    const hubId = config.hubId ?? `${os.hostname()}:${grpcPort}`;
    await fleet.start(hubId);
    log.info({ httpPort, grpcPort, metricsPort, hubId, caFingerprint: ca.fingerprint }, "Hub running");

    let stopping: Promise<void> | undefined;
    return {
      httpPort,
      grpcPort,
      metricsPort,
      hubId,
      db,
      ca,
      metrics,
      fleetSettled: () => fleet.settled(),
      stop() {
        // Reverse start order, once: stop accepting, finish in-flight calls, close the database.
        stopping ??= (async () => {
          log.info("Hub stopping");
          for (const { step, run } of cleanup) {
            const started = Date.now();
            await run().then(
              () => log.debug({ step, ms: Date.now() - started }, "Shutdown step done"),
              (err) => log.warn({ err, step }, "Shutdown step failed"),
            );
          }
          log.info("Hub stopped");
        })();
        return stopping;
      },
    };
  } catch (err) {
    for (const { run } of cleanup) await run().catch(() => undefined);
    throw err;
  }
}
