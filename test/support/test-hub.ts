import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import { pino } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { parseHubConfig, type HubConfig } from "../../hub/config.js";
import { startHub, type RunningHub } from "../../hub/hub.js";
import { createTestDatabase, type Backend, type TestDatabase } from "./test-database.js";

export const TEST_ADMIN_PASSWORD = "admin-password-for-tests";

export interface TestHub {
  readonly hub: RunningHub;
  readonly config: HubConfig;
  readonly database: TestDatabase;
  readonly baseUrl: string;
  /** A Connect client for `service`, optionally authenticated with a bearer token. */
  client<S extends DescService>(service: S, token?: string): Client<S>;
  /** Logs in and returns the bearer token. */
  login(username: string, password: string, tenant?: string): Promise<string>;
  /** Token of the first admin. */
  adminToken(): Promise<string>;
  stop(): Promise<void>;
}

export interface StartTestHubOptions {
  backend?: Backend;
  clock?: Clock;
  /** Extra flags, e.g. ["--heartbeat-interval", "500"]. */
  args?: string[];
}

/** Starts a real hub in this process on ports chosen by the OS, with a scratch database of its own. */
export async function startTestHub(options: StartTestHubOptions = {}): Promise<TestHub> {
  const database = await createTestDatabase(options.backend);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-test-hub-"));
  let config: HubConfig;
  let hub: RunningHub;
  try {
    config = parseHubConfig(
      [
        "--data-dir",
        dataDir,
        "--host",
        "127.0.0.1",
        "--http-port",
        "0",
        "--grpc-port",
        "0",
        "--shutdown-timeout",
        "2000",
        "--metrics-listen",
        "127.0.0.1:0",
        ...(options.args ?? []),
      ],
      { HUB_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD, ...(database.url ? { DATABASE_URL: database.url } : {}) },
    );
    const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
    hub = await startHub(config, {
      log,
      database: database.db,
      announce: () => undefined,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  } catch (err) {
    // Nothing of a hub that did not start outlives the call: its database and data directory go too.
    await database.drop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const baseUrl = `http://127.0.0.1:${hub.httpPort}`;
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1" });
  let adminToken: string | undefined;
  const testHub: TestHub = {
    hub,
    config,
    database,
    baseUrl,
    client(service, token) {
      if (!token) return createClient(service, transport);
      return createClient(
        service,
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
    },
    async login(username, password, tenant = "") {
      const res = await createClient(AuthService, transport).login({ username, password, tenant });
      return res.token;
    },
    async adminToken() {
      adminToken ??= await testHub.login("admin", TEST_ADMIN_PASSWORD);
      return adminToken;
    },
    async stop() {
      await hub.stop();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return testHub;
}
