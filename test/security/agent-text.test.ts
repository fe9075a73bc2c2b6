import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { ManualClock } from "../../lib/clock/clock.js";
import { enrollAgent } from "../../lib/fleet-session/enroll-agent.js";
import { FleetSession } from "../../lib/fleet-session/fleet-session.js";
import { StateDir } from "../../lib/fleet-session/state-dir.js";
import type { HostInventory } from "../../lib/host-facts/host-facts.js";
import { newId } from "../../hub/db/ids.js";
import { HelloBatcher, type HelloOutcome } from "../../hub/fleet/hello-batcher.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { createSite, mintToken } from "../fleet/support/fleet-fixtures.js";
import { waitFor } from "../fleet/support/agent-process.js";

const inventory = (hostname: string): HostInventory => ({
  hostname,
  cpu: { model: "Test CPU", cores: 4, threads: 8 },
  memoryTotalBytes: 8 * 1024 ** 3,
  disks: [],
  nics: [],
  os: { platform: "linux", distro: "Debian", release: "12", kernel: "6.1", arch: "x64" },
  hypervisorType: "kvm",
  gpus: [],
});

describe("agent text: a bad Hello or Enroll fails that agent alone (security #2)", function () {
  this.timeout(120_000);

  describe("the Hello batcher", () => {
    let t: TestDatabase;
    before(async () => {
      t = await createTestDatabase();
    });
    after(async () => t?.drop());

    it("one Hello the database refuses (a NUL that slipped past the edge) fails alone; the three honest ones in its batch open", async () => {
      const knex = t.db.knex;
      const clock = new ManualClock(Date.now());
      const dc = newId();
      const pool = newId();
      await knex("edge_data_centers").insert({ id: dc, name: `dc-${dc}` });
      await knex("compute_pools").insert({ id: pool, name: `pool-${pool}` });
      const ids = [newId(), newId(), newId(), newId()];
      await knex("agents").insert(
        ids.map((id, i) => ({
          id,
          role: "compute",
          hostname: `batch-${i}`,
          edge_data_center_id: dc,
          compute_pool_id: pool,
          certificate_serial: `s${i}`,
          certificate_expires_at: new Date(clock.now().getTime() + 86_400_000),
          status: "disconnected",
          enrolled_at: clock.now(),
        })),
      );
      const batcher = new HelloBatcher({ knex, clock, log: pino({ level: "silent" }), hubId: () => "hub-test" });
      // Admitted in one turn, so they share one batch.
      const outcomes: HelloOutcome[] = await Promise.all(
        ids.map((agentId, i) =>
          batcher.admit({
            agentId,
            sessionId: newId(),
            serial: `s${i}`,
            role: "compute",
            agentVersion: i === 1 ? "1.0\u0000evil" : "1.0.0",
            inventory: inventory(`batch-${i}`),
            isOpen: () => true,
          }),
        ),
      );
      expect(outcomes.map((o) => o.ok)).to.deep.equal([true, false, true, true]);
      const sessions = await knex("agent_sessions").whereIn("agent_id", ids).pluck("agent_id");
      expect(sessions.sort()).to.deep.equal([ids[0], ids[2], ids[3]].sort());
    });
  });

  describe("the agent endpoint", () => {
    let t: TestHub;
    const dirs: string[] = [];
    const scratch = () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-agent-text-"));
      dirs.push(dir);
      return dir;
    };
    before(async () => {
      t = await startTestHub();
    });
    after(async () => {
      await t?.stop();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });
    const hub = () => `127.0.0.1:${t.hub.grpcPort}`;

    it("Enroll with a NUL in the hostname answers INVALID_ARGUMENT naming the field, not INTERNAL, and enrolls nothing", async () => {
      const token = await mintToken(t, await createSite(t, "text-enroll"));
      const before = await t.hub.db.knex("agents").count<{ n: string }[]>({ n: "*" });
      const err = await enrollAgent({
        hub: hub(),
        joinToken: token,
        role: "compute",
        hostname: "bad\u0000host",
        stateDir: new StateDir(scratch()),
      }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).to.contain("INVALID_ARGUMENT").and.contain("hostname");
      expect(err?.message).to.not.match(/insert|select|sql/i);
      expect(await t.hub.db.knex("agents").count<{ n: string }[]>({ n: "*" })).to.deep.equal(before);
    });

    it("a Hello with a NUL in its inventory closes that stream with INVALID_ARGUMENT naming the field; no session is written", async () => {
      const token = await mintToken(t, await createSite(t, "text-hello"));
      const stateDir = scratch();
      const identity = await enrollAgent({
        hub: hub(),
        joinToken: token,
        role: "compute",
        hostname: "text-hello-host",
        stateDir: new StateDir(stateDir),
      });
      const reasons: string[] = [];
      const session = new FleetSession({
        hub: hub(),
        role: "compute",
        stateDir,
        hostname: "text-hello-host",
        agentVersion: "0.1.0",
        executors: {},
        collectInventory: async () => inventory("text-hello\u0000host"),
        log: pino({ level: "silent" }),
        observer: { disconnected: (reason) => reasons.push(reason) },
        onFatal: (e) => reasons.push(`fatal: ${e.message}`),
      });
      await session.start();
      try {
        await waitFor("the hub to refuse the Hello", async () => reasons.length > 0);
      } finally {
        await session.stop();
      }
      expect(reasons[0]).to.contain("hello.inventory.hostname");
      const sessions = await t.hub.db
        .knex("agent_sessions")
        .where("agent_id", identity.agentId)
        .count<{ n: string }[]>({
          n: "*",
        });
      expect(Number(sessions[0]!.n)).to.equal(0);
    });
  });
});
