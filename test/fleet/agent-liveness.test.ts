import { expect } from "chai";
import type { Knex } from "knex";
import { ManualClock } from "../../lib/clock/clock.js";
import { newId } from "../../hub/db/ids.js";
import { AgentLiveness } from "../../hub/fleet/agent-liveness.js";
import { purgeFinished } from "../../hub/fleet/command-store.js";
import { withLease } from "../../hub/background/lease.js";
import { ADVISORY_LOCK_KEYS } from "../../hub/db/advisory-lock-keys.js";
import { openDatabase } from "../../hub/db/database.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import {
  createScratchPostgres,
  createTestDatabase,
  postgresReachable,
  postgresServerDescription,
  type TestDatabase,
} from "../support/test-database.js";

async function seedAgents(knex: Knex, n: number, at: Date): Promise<string[]> {
  const dc = newId();
  const pool = newId();
  await knex("edge_data_centers").insert({ id: dc, name: `dc-${dc}` });
  await knex("compute_pools").insert({ id: pool, name: `pool-${pool}` });
  const ids = Array.from({ length: n }, () => newId());
  await knex("agents").insert(
    ids.map((id, i) => ({
      id,
      role: "compute",
      hostname: `h${i}`,
      edge_data_center_id: dc,
      compute_pool_id: pool,
      certificate_serial: "1",
      certificate_expires_at: new Date(at.getTime() + 86400_000),
      status: "connected",
      last_heartbeat_at: at,
      enrolled_at: at,
    })),
  );
  await knex("compute_machines").insert(
    ids.map((id, i) => ({
      id: newId(),
      hostname: `h${i}`,
      machine_type: "cpu_server",
      resource_pool_id: pool,
      edge_data_center_id: dc,
      agent_id: id,
    })),
  );
  return ids;
}

describe("agent liveness (batched heartbeats, offline sweep, restart grace)", function () {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => t?.drop());

  it("flushes any number of buffered heartbeats in one statement", async () => {
    const clock = new ManualClock(Date.now());
    const ids = await seedAgents(t.db.knex, 200, clock.now());
    const liveness = new AgentLiveness(t.db.knex, clock, {
      heartbeatIntervalMs: 1000,
      offlineAfterMs: 3000,
      restartGraceMs: 0,
      startedAt: clock.now(),
    });
    clock.advance(1000);
    for (let round = 0; round < 3; round++) for (const id of ids) liveness.recordHeartbeat(id);
    let statements = 0;
    const count = () => statements++;
    t.db.knex.on("query", count);
    await liveness.flush();
    t.db.knex.off("query", count);
    expect(statements).to.equal(1);
    const rows = await t.db
      .knex("agents")
      .whereIn("id", ids)
      .where("last_heartbeat_at", clock.now())
      .count<{ n: number }[]>({ n: "*" });
    expect(Number(rows[0]!.n)).to.equal(200);
    expect(await liveness.flush()).to.deep.equal([]);
  });

  it("declares no agent offline during the restart grace period, then takes silent agents and their machines offline", async () => {
    const clock = new ManualClock(Date.now());
    const [silent, chatty] = await seedAgents(t.db.knex, 2, clock.now());
    const liveness = new AgentLiveness(t.db.knex, clock, {
      heartbeatIntervalMs: 1000,
      offlineAfterMs: 3000,
      restartGraceMs: 10_000,
      startedAt: clock.now(),
    });
    clock.advance(9_000);
    liveness.recordHeartbeat(chatty!);
    await liveness.flush();
    expect(await liveness.sweep()).to.deep.equal([]);
    clock.advance(1_500);
    const offline = await liveness.sweep();
    expect(offline).to.include(silent);
    expect(offline).not.to.include(chatty);
    expect((await t.db.knex("agents").where({ id: silent }).first("status")).status).to.equal("offline");
    expect((await t.db.knex("compute_machines").where({ agent_id: silent }).first("status")).status).to.equal(
      "offline",
    );
    // A late heartbeat of a closed stream revives nobody; one on a live stream (a session) does.
    liveness.recordHeartbeat(silent!);
    expect(await liveness.flush()).to.deep.equal([]);
    await t.db
      .knex("agent_sessions")
      .insert({ agent_id: silent, session_id: newId(), hub_id: "hub-test", connected_at: clock.now() });
    liveness.recordHeartbeat(silent!);
    expect(await liveness.flush()).to.deep.equal([silent]);
    expect((await t.db.knex("compute_machines").where({ agent_id: silent }).first("status")).status).to.equal("active");
  });

  it("keeps the restart grace while agents are still coming back, ending it once they stop or at the cap", async () => {
    const clock = new ManualClock(Date.now());
    const [silent] = await seedAgents(t.db.knex, 1, clock.now());
    const liveness = new AgentLiveness(t.db.knex, clock, {
      heartbeatIntervalMs: 1000,
      offlineAfterMs: 3000,
      restartGraceMs: 10_000,
      startedAt: clock.now(),
    });
    clock.advance(9_000);
    liveness.noteAgentsBack();
    clock.advance(2_000); // 11 s after the start, 2 s after the last come-back
    expect(liveness.inRestartGrace(clock.now())).to.equal(true);
    expect(await liveness.sweep()).to.deep.equal([]);
    clock.advance(1_500); // 3.5 s without anyone coming back
    expect(liveness.inRestartGrace(clock.now())).to.equal(false);
    expect(await liveness.sweep()).to.include(silent); // with agents earlier tests left silent

    // A steady trickle of reconnects cannot hold the grace beyond 5 × restartGraceMs.
    const capped = new AgentLiveness(t.db.knex, clock, {
      heartbeatIntervalMs: 1000,
      offlineAfterMs: 3000,
      restartGraceMs: 10_000,
      startedAt: clock.now(),
    });
    for (let s = 0; s < 49; s++) {
      clock.advance(1_000);
      capped.noteAgentsBack();
      expect(capped.inRestartGrace(clock.now()), `${s + 1} s`).to.equal(true);
    }
    clock.advance(1_000);
    capped.noteAgentsBack();
    expect(capped.inRestartGrace(clock.now())).to.equal(false);
  });

  it("shares a background loop between hubs: a second holder of the lease skips the round", async function () {
    // PGlite is one connection in one process: two hubs racing for a lease need PostgreSQL.
    skipUnlessBackend(this, await postgresReachable(), postgresServerDescription());
    const scratch = await createScratchPostgres({ migrated: true });
    const one = await openDatabase({ databaseUrl: scratch.url, dataDir: "memory://", poolMax: 2 });
    const other = await openDatabase({ databaseUrl: scratch.url, dataDir: "memory://", poolMax: 2 });
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const first = withLease(one.knex, ADVISORY_LOCK_KEYS.fleetLiveness, async () => {
        entered();
        await held;
        return "first";
      });
      await inside;
      const second = await withLease(other.knex, ADVISORY_LOCK_KEYS.fleetLiveness, async () => "second");
      expect(second).to.deep.equal({ ran: false });
      release();
      expect(await first).to.deep.equal({ ran: true, value: "first" });
      expect(await withLease(other.knex, ADVISORY_LOCK_KEYS.fleetLiveness, async () => "again")).to.deep.equal({
        ran: true,
        value: "again",
      });
    } finally {
      await one.close();
      await other.close();
      await scratch.drop();
    }
  });
});

describe("finished command purge", () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => t?.drop());

  it("deletes finished commands older than the retention and keeps pending and recent ones", async () => {
    const now = new Date();
    const [agentId] = await seedAgents(t.db.knex, 1, now);
    const old = new Date(now.getTime() - 40 * 24 * 3600_000);
    const row = (state: string, finishedAt: Date | null) => ({
      id: newId(),
      agent_id: agentId,
      kind: "echo",
      state,
      deadline: now,
      finished_at: finishedAt,
      created_at: old,
    });
    await t.db
      .knex("agent_commands")
      .insert([row("succeeded", old), row("expired", old), row("succeeded", now), row("queued", null)]);
    const deleted = await t.db.knex.transaction((trx) =>
      purgeFinished(trx, new Date(now.getTime() - 30 * 24 * 3600_000)),
    );
    expect(deleted).to.equal(2);
    expect((await t.db.knex("agent_commands").orderBy("state").select("state")).map((r) => r.state)).to.deep.equal([
      "queued",
      "succeeded",
    ]);
  });
});
