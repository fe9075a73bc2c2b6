import { expect } from "chai";
import pg from "pg";
import { PgListener } from "../../hub/db/pg-listener.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import { createScratchPostgres, postgresReachable, postgresServerDescription } from "../support/test-database.js";

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("PgListener (PostgreSQL LISTEN connection)", function () {
  it("survives its connection being killed: no crash, reconnects and LISTENs again", async function () {
    skipUnlessBackend(this, await postgresReachable(), postgresServerDescription());
    const scratch = await createScratchPostgres({ migrated: false });
    const listener = new PgListener(scratch.url);
    const admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
    try {
      const got: string[] = [];
      await listener.listen("edgehub_test", (p) => got.push(p));
      expect(listener.connectionsEstablished).to.equal(1);
      await admin.query("SELECT pg_notify('edgehub_test', 'before')");
      await until("the first notice", () => got.includes("before"));

      // What a server restart or an operator's pg_terminate_backend does to the hub's LISTEN connection.
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()",
      );
      expect(killed.rows.map((r: { ok: boolean }) => r.ok)).to.deep.equal([true]);
      // The reconnect can follow the loss within one polling tick (full jitter may pick ~0 ms), so
      // the test waits for a second established connection rather than for a moment of disconnection.
      await until("the listener to reconnect", () => listener.connectionsEstablished === 2 && listener.isConnected);

      await admin.query("SELECT pg_notify('edgehub_test', 'after')");
      await until("a notice after the reconnect", () => got.includes("after"));
      expect(got).to.deep.equal(["before", "after"]);
    } finally {
      await admin.end();
      await listener.close();
      await scratch.drop();
    }
  });

  it("stops reconnecting once closed", async function () {
    skipUnlessBackend(this, await postgresReachable(), postgresServerDescription());
    const scratch = await createScratchPostgres({ migrated: false });
    const listener = new PgListener(scratch.url);
    const admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
    const listening = async () =>
      Number(
        (
          await admin.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
          )
        ).rows[0].n,
      );
    try {
      await listener.listen("edgehub_test", () => undefined);
      expect(listener.isConnected).to.equal(true);
      expect(await listening()).to.equal(1);
      await listener.close();
      expect(listener.isConnected).to.equal(false);
      // The server sees the connection go (its backend exits asynchronously), and nothing dials
      // again: close() cleared the retry timer, so the count of connections ever made stays at one.
      await until("the server to see the LISTEN connection gone", async () => (await listening()) === 0);
      expect(listener.connectionsEstablished).to.equal(1);
    } finally {
      await listener.close();
      await admin.end();
      await scratch.drop();
    }
  });
});
