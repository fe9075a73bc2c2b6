import { expect } from "chai";
import { instanceOccupancy, occupancy, type InstanceQuotaState } from "../../hub/quota/occupancy.js";
import type { Resources } from "../../hub/quota/quota-dimensions.js";

const SIZE: Resources = {
  instances: 1,
  cpu_cores: 4,
  memory_gb: 8,
  storage_gb: 100,
  private_data_disk_gb: 0,
  ip_addresses: 1,
  bandwidth_gbps: 2,
};

// 000 §10.4.1, one row per state: cpu, memory, storage, bandwidth, ip (and the instance count).
const TABLE: [InstanceQuotaState, boolean, boolean, boolean, boolean, boolean, boolean][] = [
  ["creating", true, true, true, true, true, true],
  ["initializing", true, true, true, true, true, true],
  ["running", true, true, true, true, true, true],
  ["suspended", true, true, true, false, true, true],
  ["stopping", true, true, true, false, true, true],
  ["stopped", false, false, true, false, true, true],
  ["terminating", false, false, true, false, false, false],
  ["deleted", false, false, false, false, false, false],
];

describe("instance occupancy (000 §10.4.1)", () => {
  for (const [state, cpu, mem, storage, bw, ip, count] of TABLE) {
    it(`${state}: cpu ${cpu ? "held" : "free"}, memory ${mem ? "held" : "free"}, storage ${storage ? "held" : "free"}, bandwidth ${bw ? "held" : "free"}, ip ${ip ? "held" : "free"}`, () => {
      const o = instanceOccupancy(state, SIZE);
      expect(o).to.deep.equal({
        instances: count ? 1 : 0,
        cpu_cores: cpu ? 4 : 0,
        memory_gb: mem ? 8 : 0,
        storage_gb: storage ? 100 : 0,
        private_data_disk_gb: 0,
        ip_addresses: ip ? 1 : 0,
        bandwidth_gbps: bw ? 2 : 0,
      });
    });
  }

  it("releases the IP of a stopped instance when configured to", () => {
    expect(instanceOccupancy("stopped", SIZE, { releaseIpWhenStopped: true }).ip_addresses).to.equal(0);
    expect(instanceOccupancy("stopped", SIZE, { releaseIpWhenStopped: true }).storage_gb).to.equal(100);
  });

  it("counts a private data disk in every state but deleted, attached or not", () => {
    const disk = { ...SIZE, private_data_disk_gb: 500 };
    expect(occupancy("private_data_disk", "available", disk)).to.include({
      private_data_disk_gb: 500,
      cpu_cores: 0,
      storage_gb: 0,
    });
    expect(occupancy("private_data_disk", "attached", disk).private_data_disk_gb).to.equal(500);
    expect(occupancy("private_data_disk", "deleted", disk).private_data_disk_gb).to.equal(0);
  });

  it("rejects an unknown instance state naming the field", () => {
    expect(() => occupancy("instance", "paused", SIZE)).to.throw(/Invalid state/);
  });
});
