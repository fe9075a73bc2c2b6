import { expect } from "chai";
import { createConnectRouter } from "@connectrpc/connect";
import { CHECKED_ENUM_MAPPINGS } from "../../hub/api/enum-mapping.js";
import { PolicyRegistry } from "../../hub/api/method-policy.js";
import { ROLE } from "../../hub/api/principal.js";
import { registerServices } from "../../hub/services.js";
import type { ServiceDeps } from "../../hub/service-deps.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

/** The quoted literals of CHECK constraints on `table` that mention `column`. */
async function checkedValues(db: TestDatabase, table: string, column: string): Promise<string[][]> {
  const res = (await db.db.knex.raw(
    `SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     WHERE c.contype = 'c' AND t.relname = ?`,
    [table],
  )) as { rows: { def: string }[] };
  const mentions = new RegExp(`\\b${column}\\b`);
  return res.rows
    .map((r) => r.def)
    .filter((def) => mentions.test(def) && /'[^']*'/.test(def))
    .map((def) => [...def.matchAll(/'([^']*)'/g)].map((m) => m[1]!));
}

describe("enum ⇄ TypeScript mapping ⇄ database CHECK agreement", function () {
  this.timeout(60_000);
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
    // Registering every service imports every feature's *-enums.ts, filling the registry.
    registerServices(createConnectRouter(), new PolicyRegistry(), {} as ServiceDeps);
  });
  after(async () => db?.drop());

  it("registers the mappings of every feature (not a vacuous pass)", () => {
    const names = CHECKED_ENUM_MAPPINGS.map((m) => m.typeName);
    expect(names).to.include(ROLE.typeName);
    expect(CHECKED_ENUM_MAPPINGS.length).to.be.at.least(8);
  });

  it("every mapped column's CHECK constraint lists exactly the enum's values", async () => {
    const mismatches: string[] = [];
    for (const mapping of CHECKED_ENUM_MAPPINGS) {
      for (const { table, column } of mapping.columns) {
        const checks = await checkedValues(db, table, column);
        if (checks.length === 0) {
          mismatches.push(`${mapping.typeName} → ${table}.${column}: no CHECK constraint lists its values`);
          continue;
        }
        const expected = [...mapping.dbValues].sort();
        // A column may have several CHECKs (e.g. one tying it to another column); one must list exactly the values.
        if (!checks.some((values) => JSON.stringify([...new Set(values)].sort()) === JSON.stringify(expected))) {
          mismatches.push(
            `${mapping.typeName} → ${table}.${column}: enum has [${expected.join(", ")}], CHECK has ${checks.map((v) => `[${v.join(", ")}]`).join(" / ")}`,
          );
        }
      }
    }
    expect(mismatches).to.deep.equal([]);
  });
});
