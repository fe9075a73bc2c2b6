import { expect } from "chai";
import net from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { parseHubConfig } from "../../hub/config.js";
import { openDatabase, type Database } from "../../hub/db/database.js";
import { startHub, type RunningHub } from "../../hub/hub.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import { createScratchPostgres, postgresReachable } from "../support/test-database.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const PASSWORD = "database-loss-password";

/** A TCP relay between the hub and PostgreSQL that the test can cut, as a network fault would. */
class CuttableRelay {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
  }
  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  /** Resets every connection and stops accepting: the database is gone. */
  async cut(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.resetAndDestroy();
    });
  }
}

describe("losing the database answers unavailable, never internal (security #8)", function () {
  this.timeout(60_000);
  let scratch: { url: string; drop(): Promise<void> } | undefined;
  let relay: CuttableRelay;
  let db: Database | undefined;
  let hub: RunningHub | undefined;
  let dataDir: string;

  before(async function () {
    skipUnlessBackend(
      this,
      await postgresReachable(),
      "PostgreSQL server (the relay needs a server to relay to; run scripts/ensure-postgres.sh)",
    );
    scratch = await createScratchPostgres({ migrated: true });
    const url = new URL(scratch.url);
    relay = new CuttableRelay({ host: url.hostname, port: Number(url.port || 5432) });
    await relay.listen();
    url.port = String(relay.port);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-dbloss-"));
    const config = parseHubConfig(
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
        "1000",
        "--metrics-listen",
        "none",
      ],
      {
        HUB_ADMIN_PASSWORD: PASSWORD,
        DATABASE_URL: url.toString(),
      },
    );
    db = await openDatabase({ databaseUrl: url.toString(), dataDir });
    hub = await startHub(config, { log: pino({ level: "silent" }), database: db, announce: () => undefined });
  });

  after(async () => {
    await hub?.stop();
    await db?.close().catch(() => undefined);
    await scratch?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers unavailable with reason DATABASE_UNAVAILABLE while the connection is cut, and /healthz 503", async () => {
    const base = `http://127.0.0.1:${hub!.httpPort}`;
    const auth = createClient(AuthService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" }));
    const { token } = await auth.login({ username: "admin", password: PASSWORD });
    expect(token).to.not.equal("");
    await relay.cut();
    let err: ConnectError | undefined;
    try {
      await auth.login({ username: "admin", password: PASSWORD });
    } catch (e) {
      err = ConnectError.from(e);
    }
    expect(err?.code, err?.message).to.equal(Code.Unavailable);
    expect(err!.findDetails(ErrorInfoSchema).map((d) => d.reason)).to.deep.equal(["DATABASE_UNAVAILABLE"]);
    expect(err!.rawMessage).to.not.match(/select|insert|update|from|ECONN/i);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).to.equal(503);
  });
});
