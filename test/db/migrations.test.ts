import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase, type Database } from "../../hub/db/database.js";
import { knownMigrations, migrateToLatest, SchemaTooNewError } from "../../hub/db/migrate.js";
import { spawnHub } from "../support/hub-process.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import { createScratchPostgres, postgresReachable, postgresServerDescription } from "../support/test-database.js";

async function tables(db: Database): Promise<string[]> {
  const rows = await db
    .knex("information_schema.tables")
    .where("table_schema", "public")
    .select<{ table_name: string }[]>("table_name");
  return rows.map((r) => r.table_name);
}

for (const backend of ["pglite", "postgres"] as const) {
  describe(`migrations on ${backend === "pglite" ? "embedded PGlite" : "a PostgreSQL server"}`, function () {
    let db: Database | undefined;
    let drop: (() => Promise<void>) | undefined;

    beforeEach(async function () {
      if (backend === "postgres") {
        skipUnlessBackend(this, await postgresReachable(), postgresServerDescription());
        const scratch = await createScratchPostgres({ migrated: false });
        drop = scratch.drop;
        db = await openDatabase({ databaseUrl: scratch.url, dataDir: "memory://" });
      } else {
        db = await openDatabase({ databaseUrl: undefined, dataDir: "memory://" });
      }
    });
    afterEach(async () => {
      await db?.close();
      await drop?.();
      db = undefined;
      drop = undefined;
    });

    it("applies every migration on an empty database, then none on a second run", async () => {
      const first = await migrateToLatest(db!);
      expect(first.applied).to.deep.equal(knownMigrations());
      expect(await tables(db!)).to.include.members(["users", "tenants", "auth_tokens", "audit_log", "hub_ca"]);
      const second = await migrateToLatest(db!);
      expect(second.applied).to.deep.equal([]);
    });

    it("refuses a database whose schema is newer than the code, changing nothing", async () => {
      await migrateToLatest(db!);
      await db!
        .knex("knex_migrations")
        .insert({ name: "29991231235959_from_the_future", batch: 99, migration_time: new Date() });
      const before = await db!.knex("knex_migrations").count<{ n: number }[]>({ n: "*" });
      let error: unknown;
      try {
        await migrateToLatest(db!);
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(SchemaTooNewError);
      expect((error as Error).message).to.contain("29991231235959_from_the_future");
      const after = await db!.knex("knex_migrations").count<{ n: number }[]>({ n: "*" });
      expect(after[0]!.n).to.equal(before[0]!.n);
    });
  });
}

describe("hub start on a newer schema", function () {
  it("exits non-zero with a clear message", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-newer-"));
    try {
      const db = await openDatabase({ databaseUrl: undefined, dataDir });
      await migrateToLatest(db);
      await db
        .knex("knex_migrations")
        .insert({ name: "29991231235959_from_the_future", batch: 99, migration_time: new Date() });
      await db.close();
      let message = "";
      try {
        const hub = await spawnHub({
          args: ["--data-dir", dataDir, "--http-port", "0", "--grpc-port", "0", "--host", "127.0.0.1"],
        });
        await hub.signal("SIGKILL");
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).to.contain("Hub exited early (1)");
      expect(message).to.contain("database schema is newer than this hub");
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
