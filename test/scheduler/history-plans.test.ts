import { expect } from "chai";
import type { Knex } from "knex";
import { parsePageRequest } from "../../hub/api/page-token.js";
import { newId } from "../../hub/db/ids.js";
import { listSchedulingRecords, type SchedulingRecordQuery } from "../../hub/scheduler/scheduling-history-store.js";
import { explainCaptured, readBound } from "../plan/plan-reading.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

// ListSchedulingRecords reads rows in proportion to its page for every filter (issue 16's rule),
// on a skewed history: one instance retried 6 000 times beside 6 000 instances placed once,
// almost every attempt placed, most on one machine.

describe("scheduling history lists read in proportion to their page", function () {
  let t: TestDatabase;
  let knex: Knex;
  const busyInstance = newId();
  const rareInstance = newId();
  const busyMachine = newId();
  const rareMachine = newId();
  before(async () => {
    t = await createTestDatabase();
    knex = t.db.knex;
    const rows: Record<string, unknown>[] = [];
    const base = Date.UTC(2026, 10, 30, 8);
    for (let i = 0; i < 12_000; i++) {
      const failed = i % 500 === 0;
      rows.push({
        id: newId(),
        instance_id: i < 6_000 ? busyInstance : i === 6_000 ? rareInstance : newId(),
        vm_id: newId(),
        tenant_id: newId(),
        request: JSON.stringify({ cpu_cores: 1 }),
        policy: "load_balance",
        candidates_considered: 3,
        rejected: "{}",
        chosen_machine_id: failed ? null : i === 7_001 ? rareMachine : busyMachine,
        outcome: failed ? "failed" : "placed",
        failure_reason: failed ? "no machine in pool" : null,
        duration_ms: 5,
        created_at: new Date(base + i * 1000),
      });
    }
    for (let i = 0; i < rows.length; i += 1000) await knex("scheduling_history").insert(rows.slice(i, i + 1000));
    // As the plan test does: statistics, as autovacuum keeps them on a live database.
    await knex.raw("ANALYZE scheduling_history");
  });
  after(async () => t?.drop());

  const filters: [string, Omit<SchedulingRecordQuery, "page">][] = [
    ["no filter", { instanceId: null, outcome: null, machineId: null }],
    ["a busy instance", { instanceId: busyInstance, outcome: null, machineId: null }],
    ["a rare instance", { instanceId: rareInstance, outcome: null, machineId: null }],
    ["a rare outcome", { instanceId: null, outcome: "failed", machineId: null }],
    ["a common outcome", { instanceId: null, outcome: "placed", machineId: null }],
    ["a busy machine", { instanceId: null, outcome: null, machineId: busyMachine }],
    ["a rare machine", { instanceId: null, outcome: null, machineId: rareMachine }],
  ];
  for (const [name, filter] of filters) {
    it(`${name}: first and second page`, async () => {
      const captured: { sql: string; bindings: readonly unknown[] }[] = [];
      const capture = (q: { sql: string; bindings?: readonly unknown[] }) => {
        if (/^\s*select/i.test(q.sql)) captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
      };
      knex.on("query", capture);
      try {
        const first = await listSchedulingRecords(knex, { ...filter, page: parsePageRequest(20, "", 2) });
        if (first.nextPageToken !== "")
          await listSchedulingRecords(knex, { ...filter, page: parsePageRequest(20, first.nextPageToken, 2) });
        expect(first.items.length).to.be.greaterThan(0);
      } finally {
        knex.off("query", capture);
      }
      const readings = await explainCaptured(knex, captured);
      expect(readings.length).to.be.greaterThan(0);
      for (const r of readings) expect(r.read, r.sql).to.be.at.most(readBound(r.returned, r.sql));
    });
  }
});
