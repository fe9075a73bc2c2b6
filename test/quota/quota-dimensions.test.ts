import { expect } from "chai";
import { InvalidArgumentError } from "../../hub/domain/errors.js";
import {
  configFromLimits,
  limitsFromConfig,
  normalizeResources,
  validateLimits,
} from "../../hub/quota/quota-dimensions.js";
import { levelOf, usageReport } from "../../hub/quota/usage-report.js";

describe("quota dimensions and levels", () => {
  it("refuses negative, non-finite and fractional-count limits naming the field", () => {
    expect(() => validateLimits({ cpu_cores: -1 }, "limits")).to.throw(InvalidArgumentError, "limits.max_cpu_cores");
    expect(() => validateLimits({ instances: 1.5 }, "quota")).to.throw(InvalidArgumentError, "quota.max_instances");
    expect(() => validateLimits({ memory_gb: Number.NaN }, "quota")).to.throw(
      InvalidArgumentError,
      "quota.max_memory_gb",
    );
    expect(validateLimits({ memory_gb: 0.5, instances: 0 }, "quota")).to.deep.equal({ memory_gb: 0.5, instances: 0 });
  });

  it("refuses negative resource sizes", () => {
    expect(() => normalizeResources({ storage_gb: -5 })).to.throw(InvalidArgumentError, "resources.storage_gb");
  });

  it("stores limits under the spec's quota_config keys", () => {
    expect(configFromLimits({ cpu_cores: 8, bandwidth_gbps: 10 })).to.deep.equal({
      max_cpu_cores: 8,
      max_bandwidth_gbps: 10,
    });
    expect(limitsFromConfig({ max_cpu_cores: 8, unrelated: 1 })).to.deep.equal({ cpu_cores: 8 });
  });

  it("maps percentages to the 80/90/95 % levels of §10.5", () => {
    expect([79.9, 80, 89.9, 90, 94.9, 95, 120].map(levelOf)).to.deep.equal([
      "ok",
      "notice",
      "notice",
      "warning",
      "warning",
      "critical",
      "critical",
    ]);
    const r = usageReport(
      {
        instances: 0,
        cpu_cores: 9,
        memory_gb: 0,
        storage_gb: 300,
        private_data_disk_gb: 1800,
        ip_addresses: 0,
        bandwidth_gbps: 8,
      },
      { cpu_cores: 10, storage_gb: 500, private_data_disk_gb: 2000, bandwidth_gbps: 10 },
    );
    expect(r.map((u) => `${u.dimension}:${u.percentage}:${u.level}`)).to.deep.equal([
      "instances:0:ok",
      "cpu_cores:90:warning",
      "memory_gb:0:ok",
      "storage_gb:60:ok",
      "private_data_disk_gb:90:warning",
      "ip_addresses:0:ok",
      "bandwidth_gbps:80:notice",
    ]);
  });
});
