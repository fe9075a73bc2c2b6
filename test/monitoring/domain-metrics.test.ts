import { expect } from "chai";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Knex } from "knex";
import { DomainState } from "../../gen/edgehub/common/v1/compute_pb.js";
import { MetricsSampleSchema } from "../../gen/edgehub/fleet/v1/metrics_pb.js";
import { metricsFromProto } from "../../lib/host-facts/host-facts-proto.js";
import { purgeExpiredMetrics, METRICS_RETENTION } from "../../hub/monitoring/purge-expired-metrics.js";
import { recordMetrics } from "../../hub/monitoring/record-metrics.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { insertAgent } from "./monitoring-fixtures.js";

const t0 = new Date("2026-11-30T08:00:00Z");

/** A compute agent's sample as it arrives on the wire: host readings plus two domains. */
function wireSample(at: Date) {
  return create(MetricsSampleSchema, {
    sampleTime: timestampFromDate(at),
    cpuUtilizationPercent: 20,
    memoryTotalBytes: 64n * 1024n ** 3n,
    memoryAvailableBytes: 32n * 1024n ** 3n,
    disks: [{ mount: "/", usedBytes: 10n, totalBytes: 100n }],
    domains: [
      {
        name: "edgehub-a",
        uuid: "0193e0a0-0000-7000-8000-00000000000a",
        state: DomainState.RUNNING,
        cpuTimeNs: 9_000_000_000n,
        vcpus: 2,
        memoryMaxKib: 2_097_152n,
        memoryUsedKib: 1_048_576n,
        diskReadBytes: 123_456_789n,
        diskWriteBytes: 4096n,
        netRxBytes: 1500n,
        netTxBytes: 900n,
      },
      { name: "edgehub-b", uuid: "0193e0a0-0000-7000-8000-00000000000b", state: DomainState.PAUSED, vcpus: 1 },
    ],
  });
}

describe("per-domain stats are stored with the host metrics (issue 10)", function () {
  let tdb: TestDatabase;
  let knex: Knex;
  before(async () => {
    tdb = await createTestDatabase();
    knex = tdb.db.knex;
  });
  after(async () => tdb?.drop());

  it("stores one row per domain from the wire sample, once, and the raw retention purges them", async () => {
    const { agentId } = await insertAgent(knex, { withMachine: true });
    const sample = metricsFromProto(wireSample(t0), t0);
    expect((await recordMetrics(knex, { agentId, sample, at: t0 })).stored).to.equal(true);
    // An agent re-sending the same sample after a reconnect stores nothing twice.
    expect((await recordMetrics(knex, { agentId, sample, at: t0 })).stored).to.equal(false);
    const rows = await knex("domain_metrics_raw")
      .where({ agent_id: agentId })
      .orderBy("domain_name")
      .select("domain_name", "state", "cpu_time_ns", "vcpus", "memory_used_kib", "disk_read_bytes", "net_tx_bytes");
    expect(
      rows.map((r) => ({
        ...r,
        cpu_time_ns: Number(r.cpu_time_ns),
        memory_used_kib: Number(r.memory_used_kib),
        disk_read_bytes: Number(r.disk_read_bytes),
        net_tx_bytes: Number(r.net_tx_bytes),
      })),
    ).to.deep.equal([
      {
        domain_name: "edgehub-a",
        state: "running",
        cpu_time_ns: 9_000_000_000,
        vcpus: 2,
        memory_used_kib: 1_048_576,
        disk_read_bytes: 123_456_789,
        net_tx_bytes: 900,
      },
      {
        domain_name: "edgehub-b",
        state: "paused",
        cpu_time_ns: 0,
        vcpus: 1,
        memory_used_kib: 0,
        disk_read_bytes: 0,
        net_tx_bytes: 0,
      },
    ]);
    await purgeExpiredMetrics(knex, new Date(t0.getTime() + METRICS_RETENTION.rawMs + 1000));
    const [left] = await knex("domain_metrics_raw").where({ agent_id: agentId }).count<{ n: string }[]>({ n: "*" });
    expect(Number(left!.n)).to.equal(0);
  });
});
