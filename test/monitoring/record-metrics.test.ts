import { expect } from "chai";
import type { Knex } from "knex";
import { recordMetrics } from "../../hub/monitoring/record-metrics.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { insertAgent, sampleAt } from "./monitoring-fixtures.js";

const t0 = new Date("2026-11-22T08:00:00Z");
const at = (s: number) => new Date(t0.getTime() + s * 1000);
// 4 % free: critical (below 5 %).
const fullRoot = [{ mount: "/", usedBytes: 96, totalBytes: 100 }];

describe("recordMetrics", function () {
  let tdb: TestDatabase;
  let knex: Knex;

  before(async () => {
    tdb = await createTestDatabase();
    knex = tdb.db.knex;
  });
  after(async () => tdb?.drop());

  const events = (agentId: string) =>
    knex("fleet_events")
      .where({ agent_id: agentId, kind: "health_changed" })
      .orderBy("occurred_at")
      .select("severity", "message", "details", "machine_id");

  it("stores the host row and one row per GPU", async () => {
    const { agentId, machineId } = await insertAgent(knex, { withMachine: true });
    const res = await recordMetrics(knex, { agentId, machineId, sample: sampleAt(t0), at: at(1) });
    expect(res.stored).to.equal(true);
    const host = await knex("host_metrics_raw").where({ agent_id: agentId }).first();
    expect(host).to.include({
      machine_id: machineId,
      cpu_percent: 40,
      memory_total_bytes: 512 * 1024 ** 3,
      gpu_count: 2,
      gpu_error_count: 0,
    });
    expect(host.disk_total_bytes).to.equal(4200 * 1024 ** 3);
    expect(host.disk_min_free_percent).to.equal(75);
    expect(host.disks).to.deep.equal(sampleAt(t0).disks);
    const gpus = await knex("gpu_metrics_raw")
      .where({ agent_id: agentId })
      .orderBy("gpu_index")
      .select("gpu_index", "temperature_celsius", "memory_used_mib");
    expect(gpus).to.deep.equal([
      { gpu_index: 0, temperature_celsius: 70, memory_used_mib: 40000 },
      { gpu_index: 1, temperature_celsius: 40, memory_used_mib: 1000 },
    ]);
  });

  it("turns unknown into healthy on the first report: machine health_status set, one event", async () => {
    const { agentId, machineId } = await insertAgent(knex, { withMachine: true });
    expect((await knex("compute_machines").where({ id: machineId }).first()).health_status).to.equal("unknown");
    const res = await recordMetrics(knex, { agentId, sample: sampleAt(t0), at: at(1) });
    expect(res).to.deep.include({ previousStatus: "unknown", changed: true });
    expect((await knex("compute_machines").where({ id: machineId }).first()).health_status).to.equal("healthy");
    const ev = await events(agentId);
    expect(ev).to.have.length(1);
    expect(ev[0]).to.include({
      severity: "info",
      message: "Health changed from unknown to healthy",
      machine_id: machineId,
    });
  });

  it("writes no event while health stays the same", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: true });
    for (let i = 0; i < 5; i++)
      await recordMetrics(knex, { agentId, sample: sampleAt(at(30 * i)), at: at(30 * i + 1) });
    expect(await events(agentId)).to.have.length(1);
    expect(
      (await knex("host_metrics_raw").where({ agent_id: agentId }).count<{ n: number }[]>({ n: "*" }))[0]!.n,
    ).to.equal(5);
  });

  it("records healthy → warning → critical → healthy as events with reasons and severities", async () => {
    const { agentId, machineId } = await insertAgent(knex, { withMachine: true });
    await recordMetrics(knex, { agentId, sample: sampleAt(at(0)), at: at(1) });
    const hot = sampleAt(at(30), { gpus: [{ index: 0, uuid: "GPU-a", temperatureCelsius: 88, error: false }] });
    expect((await recordMetrics(knex, { agentId, sample: hot, at: at(31) })).health.status).to.equal("warning");
    expect((await knex("compute_machines").where({ id: machineId }).first()).health_status).to.equal("warning");
    await recordMetrics(knex, { agentId, sample: sampleAt(at(60), { disks: fullRoot }), at: at(61) });
    await recordMetrics(knex, { agentId, sample: sampleAt(at(90)), at: at(91) });
    const ev = await events(agentId);
    expect(ev.map((e) => [e.severity, e.details.from, e.details.to])).to.deep.equal([
      ["info", "unknown", "healthy"],
      ["warning", "healthy", "warning"],
      ["critical", "warning", "critical"],
      ["info", "critical", "healthy"],
    ]);
    expect(ev[1]!.message).to.equal("Health changed from healthy to warning: GPU 0 is at 88 °C (above 85 °C)");
    expect(ev[2]!.details.reasons).to.deep.equal(["Disk / has 4.0 % free (below 5 %)"]);
    const health = await knex("agent_health").where({ agent_id: agentId }).first();
    expect(health).to.include({ status: "healthy" });
    expect(health.reasons).to.deep.equal([]);
    expect(health.changed_at).to.deep.equal(at(91));
  });

  it("updates the reasons without an event when the status stays", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: false });
    const warm = (temp: number, s: number) =>
      sampleAt(at(s), { gpus: [{ index: 0, uuid: "GPU-a", temperatureCelsius: temp, error: false }] });
    await recordMetrics(knex, { agentId, sample: warm(86, 0), at: at(1) });
    const res = await recordMetrics(knex, { agentId, sample: warm(89, 30), at: at(31) });
    expect(res.changed).to.equal(false);
    const health = await knex("agent_health").where({ agent_id: agentId }).first();
    expect(health.reasons).to.deep.equal(["GPU 0 is at 89 °C (above 85 °C)"]);
    expect(health.changed_at).to.deep.equal(at(1));
    expect(await events(agentId)).to.have.length(1);
  });

  it("keeps health for an agent without a machine (Ceph gateway) in agent_health only", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: false });
    const res = await recordMetrics(knex, { agentId, sample: sampleAt(t0, { disks: fullRoot, gpus: [] }), at: at(1) });
    expect(res.health.status).to.equal("critical");
    expect((await knex("agent_health").where({ agent_id: agentId }).first()).status).to.equal("critical");
    expect((await events(agentId))[0]!.machine_id).to.equal(null);
  });

  it("ignores a re-sent sample (same sampled_at) without a second row or event", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: true });
    await recordMetrics(knex, { agentId, sample: sampleAt(t0), at: at(1) });
    const again = await recordMetrics(knex, { agentId, sample: sampleAt(t0, { disks: fullRoot }), at: at(40) });
    expect(again).to.deep.include({ stored: false, changed: false });
    expect(
      (await knex("host_metrics_raw").where({ agent_id: agentId }).count<{ n: number }[]>({ n: "*" }))[0]!.n,
    ).to.equal(1);
    expect((await knex("agent_health").where({ agent_id: agentId }).first()).status).to.equal("healthy");
  });

  it("stores a late sample but does not let it judge health", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: true });
    await recordMetrics(knex, { agentId, sample: sampleAt(at(60)), at: at(61) });
    const late = await recordMetrics(knex, { agentId, sample: sampleAt(at(30), { disks: fullRoot }), at: at(62) });
    expect(late).to.deep.include({ stored: true, changed: false });
    expect((await knex("agent_health").where({ agent_id: agentId }).first()).status).to.equal("healthy");
  });

  it("brings a machine row created after the agent's first report to the judged status", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: false });
    await recordMetrics(knex, { agentId, sample: sampleAt(at(0), { disks: fullRoot }), at: at(1) });
    const late = await insertAgent(knex, { withMachine: true });
    // Re-point the new machine at the first agent, as a Hello registering it would.
    await knex("compute_machines").where({ id: late.machineId }).update({ agent_id: agentId });
    await recordMetrics(knex, { agentId, sample: sampleAt(at(30), { disks: fullRoot }), at: at(31) });
    expect((await knex("compute_machines").where({ id: late.machineId }).first()).health_status).to.equal("critical");
  });

  it("writes exactly one event when concurrent samples race on an agent's first report", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: true });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        recordMetrics(knex, { agentId, sample: sampleAt(at(i), { disks: fullRoot }), at: at(i + 1) }),
      ),
    );
    expect(results.filter((r) => r.changed)).to.have.length(1);
    expect(results.every((r) => r.stored)).to.equal(true);
    const ev = await events(agentId);
    expect(ev.map((e) => [e.details.from, e.details.to])).to.deep.equal([["unknown", "critical"]]);
  });
});
