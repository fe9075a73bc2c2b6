import fs from "node:fs";
import path from "node:path";
import knexFactory, { type Knex } from "knex";
import ClientPgLite from "knex-pglite";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import pg from "pg";
import type { Logger } from "pino";
import { DataDirLock } from "./data-dir-lock.js";
import { PgListener } from "./pg-listener.js";

// pg parses int8/numeric as strings by default; counters and sizes here fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export type DatabaseKind = "pglite" | "postgres";

/** A database handle: knex for queries, plus LISTEN for cross-hub notifications. */
export interface Database {
  readonly kind: DatabaseKind;
  readonly knex: Knex;
  /** Subscribes to a NOTIFY channel; returns the unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** Runs `fn` while holding a cluster-wide advisory lock (serialises e.g. migrations across hubs). */
  withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres://… or undefined for PGlite. */
  databaseUrl: string | undefined;
  /** PGlite files live in `<dataDir>/pglite`; ignored for PostgreSQL. `memory://` keeps PGlite in memory. */
  dataDir: string | "memory://";
  poolMax?: number;
  /** Where a lost LISTEN connection is reported (PostgreSQL only). */
  log?: Logger;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.poolMax ?? 10, options.log)
    : openPglite(options.dataDir);
}

async function openPostgres(url: string, poolMax: number, log: Logger | undefined): Promise<Database> {
  const knex = knexFactory({
    client: "pg",
    connection: url,
    pool: { min: 0, max: poolMax },
    // knex prints pool and connection trouble to the console; it belongs in the hub's log (a lost
    // connection heals by itself and callers get `unavailable`: WARN).
    log: {
      warn: (message: unknown) => log?.warn({ detail: String(message) }, "Database client warning"),
      error: (message: unknown) => log?.warn({ detail: String(message) }, "Database client error"),
      deprecate: (message: unknown) => log?.debug({ detail: String(message) }, "Database client deprecation"),
      debug: (message: unknown) => log?.debug({ detail: String(message) }, "Database client debug"),
    },
  });
  const listener = new PgListener(url, log);
  return {
    kind: "postgres",
    knex,
    listen: (channel, onPayload) => listener.listen(channel, onPayload),
    async withAdvisoryLock(key, fn) {
      const client = new pg.Client({ connectionString: url });
      // A dropped connection rejects the pending query; without a listener its 'error' event would kill the process.
      client.on("error", () => undefined);
      await client.connect();
      try {
        await client.query("SELECT pg_advisory_lock($1)", [key]);
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [key]).catch(() => undefined);
        await client.end();
      }
    },
    async close() {
      await listener.close();
      await knex.destroy();
    },
  };
}

// Extensions the migrations CREATE: pg_trgm serves substring search (PostgreSQL has it in contrib).
const PGLITE_EXTENSIONS = { pg_trgm };

async function openPglite(dataDir: string): Promise<Database> {
  let lock: DataDirLock | undefined;
  let pglite: PGlite;
  if (dataDir === "memory://") {
    pglite = new PGlite({ extensions: PGLITE_EXTENSIONS });
  } else {
    fs.mkdirSync(dataDir, { recursive: true });
    // PGlite is one process only: two hubs on one directory would corrupt it.
    lock = DataDirLock.acquire(path.join(dataDir, "pglite.lock"));
    pglite = new PGlite(path.join(dataDir, "pglite"), { extensions: PGLITE_EXTENSIONS });
  }
  try {
    await pglite.waitReady;
  } catch (err) {
    lock?.release();
    throw err;
  }
  const knex = knexFactory({ client: ClientPgLite, connection: () => ({ pglite }) as object });
  return {
    kind: "pglite",
    knex,
    async listen(channel, onPayload) {
      const unsubscribe = await pglite.listen(channel, onPayload);
      return async () => unsubscribe();
    },
    // One process holds the whole database, so the lock is already ours.
    async withAdvisoryLock(_key, fn) {
      return fn();
    },
    async close() {
      await knex.destroy();
      if (!pglite.closed) await pglite.close();
      lock?.release();
    },
  };
}
