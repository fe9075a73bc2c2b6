import { expect } from "chai";
import type { Knex } from "knex";
import pino from "pino";
import { ManualClock } from "../../lib/clock/clock.js";
import type { HostInventory } from "../../lib/host-facts/host-facts.js";
import { newId } from "../../hub/db/ids.js";
import { HelloBatcher } from "../../hub/fleet/hello-batcher.js";
import { openSessions, type SessionRequest } from "../../hub/fleet/open-sessions.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

const inventory = (hostname: string, gpus = 0): HostInventory => ({
  hostname,
  cpu: { model: "Test CPU", cores: 16, threads: 32 },
  memoryTotalBytes: 64 * 1024 ** 3,
  disks: [{ name: "nvme0n1", sizeBytes: 512 * 1024 ** 3, type: "nvme" }],
  nics: [],
  os: { platform: "linux", distro: "Debian", release: "12", kernel: "6.1", arch: "x64" },
  hypervisorType: "kvm",
  gpus: Array.from({ length: gpus }, (_, i) => ({
    index: i,
    uuid: `GPU-${i}`,
    name: "NVIDIA A10",
    memoryTotalMib: 24_000,
    computeCapability: "8.6",
    status: "ok" as const,
    statusDetail: "",
    pciBusId: `00000000:${(0x17 + i).toString(16)}:00.0`,
  })),
});

async function seed(knex: Knex, n: number, at: Date) {
  const dc = newId();
  const pool = newId();
  await knex("edge_data_centers").insert({ id: dc, name: `dc-${dc}` });
  await knex("compute_pools").insert({ id: pool, name: `pool-${pool}` });
  const ids = Array.from({ length: n }, () => newId());
  await knex("agents").insert(
    ids.map((id, i) => ({
      id,
      role: "compute",
      hostname: `enrolled-${i}`,
      edge_data_center_id: dc,
      compute_pool_id: pool,
      certificate_serial: `s${i}`,
      certificate_expires_at: new Date(at.getTime() + 86_400_000),
      status: "disconnected",
      enrolled_at: at,
    })),
  );
  return { ids, dc, pool };
}

const request = (agentId: string, serial: string, inv: HostInventory | null): SessionRequest => ({
  agentId,
  sessionId: newId(),
  serial,
  role: "compute",
  agentVersion: "1.2.3",
  inventory: inv,
});

describe("openSessions (Hellos in batches)", function () {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => t?.drop());

  it("opens many sessions in a fixed number of statements and refuses each bad Hello with its own reason", async () => {
    const clock = new ManualClock(Date.now());
    const { ids, dc, pool } = await seed(t.db.knex, 6, clock.now());
    const [fresh, known, offline, revoked, superseded, twice] = ids as [string, string, string, string, string, string];
    await t.db.knex("agents").where({ id: revoked }).update({ status: "revoked" });
    await t.db.knex("compute_machines").insert([
      {
        id: newId(),
        hostname: "old-name",
        machine_type: "cpu_server",
        resource_pool_id: pool,
        edge_data_center_id: dc,
        agent_id: known,
        cpu_cores: 1,
      },
      {
        id: newId(),
        hostname: "offline-one",
        machine_type: "cpu_server",
        resource_pool_id: pool,
        edge_data_center_id: dc,
        agent_id: offline,
        status: "offline",
      },
    ]);
    const stranger = newId();
    const requests = [
      request(fresh, "s0", inventory("node-fresh", 2)),
      request(known, "s1", inventory("node-known")),
      request(offline, "s2", null),
      request(revoked, "s3", inventory("node-revoked")),
      request(superseded, "old-serial", inventory("node-superseded")),
      request(twice, "s5", inventory("twice-first")),
      request(stranger, "s9", inventory("node-stranger")),
      request(twice, "s5", inventory("twice-second")),
    ];
    let statements = 0;
    const count = () => statements++;
    t.db.knex.on("query", count);
    const outcomes = await t.db.knex.transaction((trx) => openSessions(trx, "hub-a", requests, clock.now()));
    t.db.knex.off("query", count);

    expect(outcomes.map((o) => (o.ok ? `ok ${o.hostname}` : `${o.error.code}: ${o.error.message}`))).to.deep.equal([
      "ok node-fresh",
      "ok node-known",
      "ok enrolled-2",
      `permission_denied: Agent stream refused: the certificate of agent ${revoked} was revoked`,
      `unauthenticated: Agent stream refused: the certificate of agent ${superseded} was superseded`,
      "aborted: Agent stream replaced by a newer session of the same agent",
      `unauthenticated: Agent stream refused: agent ${stranger} is not enrolled with this hub`,
      "ok twice-second",
    ]);
    // BEGIN/COMMIT, select, session upsert, agents update, offline machines, pool locks, machine lookup, update,
    // insert, GPU upsert, missing GPUs, gpu_count, pool totals, data center totals, notify.
    expect(statements).to.be.at.most(16);

    const sessions = await t.db
      .knex("agent_sessions")
      .whereIn("agent_id", ids)
      .select("agent_id", "session_id", "hub_id");
    expect(sessions.map((s) => s.agent_id).sort()).to.deep.equal([fresh, known, offline, twice].sort());
    expect(sessions.find((s) => s.agent_id === twice)!.session_id).to.equal(requests[7]!.sessionId);
    expect(new Set(sessions.map((s) => s.hub_id))).to.deep.equal(new Set(["hub-a"]));
    const agents = new Map(
      (await t.db.knex("agents").whereIn("id", ids).select("id", "status", "hostname", "agent_version")).map((a) => [
        a.id,
        a,
      ]),
    );
    expect(agents.get(fresh)).to.include({ status: "connected", hostname: "node-fresh", agent_version: "1.2.3" });
    expect(agents.get(revoked)).to.include({ status: "revoked", hostname: "enrolled-3" });
    expect(agents.get(superseded)).to.include({ status: "disconnected" });

    const machines = new Map(
      (
        await t.db
          .knex("compute_machines")
          .whereIn("agent_id", ids)
          .select("agent_id", "hostname", "status", "machine_type", "cpu_cores", "gpu_count", "memory_gb")
      ).map((m) => [m.agent_id, m]),
    );
    expect(machines.get(fresh)).to.include({
      hostname: "node-fresh",
      status: "active",
      machine_type: "gpu_server",
      cpu_cores: 32,
      gpu_count: 2,
      memory_gb: 64,
    });
    expect(machines.get(known)).to.include({ hostname: "node-known", cpu_cores: 32 });
    expect(machines.get(offline)).to.include({ status: "active", hostname: "offline-one" });
    expect(machines.has(revoked)).to.equal(false);
    expect(machines.has(superseded)).to.equal(false);
  });

  it("drops the Hellos of streams that closed while they waited, and welcomes the rest in one batch", async () => {
    const clock = new ManualClock(Date.now());
    const { ids } = await seed(t.db.knex, 3, clock.now());
    const batches: string[][] = [];
    const batcher = new HelloBatcher({
      knex: t.db.knex,
      clock,
      log: pino({ level: "silent" }),
      hubId: () => "hub-b",
      afterBatch: (a) => batches.push(a),
    });
    const open = [true, false, true];
    const results = await Promise.all(
      ids.map((id, i) => batcher.admit({ ...request(id, `s${i}`, null), isOpen: () => open[i]! })),
    );
    expect(results.map((r) => (r.ok ? "ok" : "dropped" in r ? "dropped" : "error"))).to.deep.equal([
      "ok",
      "dropped",
      "ok",
    ]);
    expect(await t.db.knex("agent_sessions").whereIn("agent_id", ids).pluck("agent_id")).to.have.members([
      ids[0],
      ids[2],
    ]);
    await new Promise((r) => setImmediate(r));
    expect(batches).to.deep.equal([[ids[0], ids[2]]]);
  });
});
