import fs from "node:fs";
import { ADVISORY_LOCK_KEYS } from "./advisory-lock-keys.js";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Knex } from "knex";
import type { Database } from "./database.js";

const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");
const MIGRATION_FILE = /^(\d{14}_[a-z0-9_]+)\.(ts|js)$/;
const MIGRATION_TABLE = "knex_migrations";
/** Advisory lock key that serialises migrations across hubs ("edgehub" in ASCII, truncated). */

export class SchemaTooNewError extends Error {
  override readonly name = "SchemaTooNewError";
}

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Names of the migrations this build ships, in order (timestamp prefix), without extension. */
export function knownMigrations(dir = MIGRATIONS_DIR): string[] {
  const names = new Set<string>();
  for (const file of fs.readdirSync(dir)) {
    const m = MIGRATION_FILE.exec(file);
    if (m && !file.endsWith(".d.ts")) names.add(m[1]!);
  }
  return [...names].sort();
}

function migrationSource(dir: string): Knex.MigrationSource<string> {
  return {
    getMigrations: async () => knownMigrations(dir),
    getMigrationName: (name) => name,
    getMigration: async (name) => {
      const ext = fs.existsSync(path.join(dir, `${name}.js`)) ? "js" : "ts";
      return (await import(pathToFileURL(path.join(dir, `${name}.${ext}`)).href)) as MigrationModule;
    },
  };
}

/** Migrations recorded in the database that this build does not know: the schema is newer than the code. */
async function unknownAppliedMigrations(knex: Knex, known: readonly string[]): Promise<string[]> {
  if (!(await knex.schema.hasTable(MIGRATION_TABLE))) return [];
  const rows: { name: string }[] = await knex(MIGRATION_TABLE).select("name");
  const knownSet = new Set(known);
  return rows.map((r) => r.name.replace(/\.(ts|js)$/, "")).filter((n) => !knownSet.has(n));
}

export interface MigrationResult {
  applied: string[];
  total: number;
}

/** Brings the schema up to date under an advisory lock; refuses a database newer than this build. */
export async function migrateToLatest(db: Database, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const known = knownMigrations(dir);
  return db.withAdvisoryLock(ADVISORY_LOCK_KEYS.migrations, async () => {
    const unknown = await unknownAppliedMigrations(db.knex, known);
    if (unknown.length > 0) {
      throw new SchemaTooNewError(
        `Cannot start: the database schema is newer than this hub (unknown migrations: ${unknown.join(", ")}); run a hub of the version that wrote them or newer`,
      );
    }
    const [, applied] = (await db.knex.migrate.latest({
      migrationSource: migrationSource(dir),
      tableName: MIGRATION_TABLE,
    })) as [number, string[]];
    return { applied, total: known.length };
  });
}
