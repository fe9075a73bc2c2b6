import { expect } from "chai";
import { newId } from "../../hub/db/ids.js";
import { recordFleetEvents } from "../../hub/fleet/fleet-event-log.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

describe("fleet event log", function () {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => t?.drop());

  it("records a mass outage's events in one call: more rows than PostgreSQL's 65 535 bind parameters allow in one INSERT", async () => {
    const at = new Date();
    const agentId = newId();
    await t.db.knex("agents").insert({
      id: agentId,
      role: "cloud_box",
      hostname: "box",
      certificate_serial: "1",
      certificate_expires_at: new Date(at.getTime() + 86_400_000),
      status: "offline",
      enrolled_at: at,
    });
    // 9 000 events × 8 columns = 72 000 parameters: one statement would be refused.
    const events = Array.from({ length: 9000 }, (_, i) => ({
      agentId,
      kind: "agent_offline",
      severity: "warning" as const,
      message: `outage ${i}`,
      occurredAt: at,
    }));
    await recordFleetEvents(t.db.knex, events);
    const rows = await t.db.knex("fleet_events").where({ agent_id: agentId }).count<{ n: number }[]>({ n: "*" });
    expect(Number(rows[0]!.n)).to.equal(9000);
  });
});
