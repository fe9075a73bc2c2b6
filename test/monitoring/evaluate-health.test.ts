import { expect } from "chai";
import { evaluateHealth, HEALTH_THRESHOLDS } from "../../hub/monitoring/evaluate-health.js";
import type { GpuSample } from "../../lib/host-facts/host-facts.js";
import { sampleAt } from "./monitoring-fixtures.js";

const at = new Date("2026-11-22T08:00:00Z");
const withDiskFree = (freePercent: number) =>
  sampleAt(at, { disks: [{ mount: "/data", usedBytes: 1000 - freePercent * 10, totalBytes: 1000 }] });
const withMemoryAvailable = (percent: number) =>
  sampleAt(at, { memoryTotalBytes: 10_000, memoryAvailableBytes: percent * 100 });
const gpu = (over: Partial<GpuSample>): GpuSample => ({
  index: 3,
  uuid: "GPU-x",
  temperatureCelsius: 50,
  error: false,
  ...over,
});
const withGpu = (over: Partial<GpuSample>) => sampleAt(at, { gpus: [gpu(over)] });

describe("evaluateHealth", () => {
  it("judges a normal GPU server healthy with no reasons", () => {
    expect(evaluateHealth(sampleAt(at))).to.deep.equal({ status: "healthy", reasons: [] });
  });

  describe("disk free space (spec: < 10 % free)", () => {
    it("stays healthy at exactly 10 % free", () => expect(evaluateHealth(withDiskFree(10)).status).to.equal("healthy"));
    it("warns just below 10 % free, naming the mount", () => {
      const h = evaluateHealth(withDiskFree(9.9));
      expect(h.status).to.equal("warning");
      expect(h.reasons).to.deep.equal(["Disk /data has 9.9 % free (below 10 %)"]);
    });
    it("warns at exactly 5 % free", () => expect(evaluateHealth(withDiskFree(5)).status).to.equal("warning"));
    it("is critical below 5 % free", () => expect(evaluateHealth(withDiskFree(4.9)).status).to.equal("critical"));
    it("ignores a disk of unknown size", () =>
      expect(evaluateHealth(sampleAt(at, { disks: [{ mount: "/x", usedBytes: 0, totalBytes: 0 }] })).status).to.equal(
        "healthy",
      ));
  });

  describe("memory available (spec: < 5 % available)", () => {
    it("stays healthy at exactly 5 %", () => expect(evaluateHealth(withMemoryAvailable(5)).status).to.equal("healthy"));
    it("warns below 5 %", () => {
      const h = evaluateHealth(withMemoryAvailable(4.99));
      expect(h.status).to.equal("warning");
      expect(h.reasons).to.deep.equal(["Memory has 4.9 % available (below 5 %)"]);
    });
    it("warns at exactly 2 %", () => expect(evaluateHealth(withMemoryAvailable(2)).status).to.equal("warning"));
    it("is critical below 2 %", () => expect(evaluateHealth(withMemoryAvailable(1.99)).status).to.equal("critical"));
    it("ignores a sample without a memory total", () =>
      expect(evaluateHealth(sampleAt(at, { memoryTotalBytes: 0, memoryAvailableBytes: 0 })).status).to.equal(
        "healthy",
      ));
  });

  describe("GPU temperature (spec: > 85 °C)", () => {
    it("stays healthy at exactly 85 °C", () =>
      expect(evaluateHealth(withGpu({ temperatureCelsius: 85 })).status).to.equal("healthy"));
    it("warns above 85 °C, naming the GPU", () => {
      const h = evaluateHealth(withGpu({ temperatureCelsius: 86 }));
      expect(h).to.deep.equal({ status: "warning", reasons: ["GPU 3 is at 86 °C (above 85 °C)"] });
    });
    it("warns at exactly 95 °C", () =>
      expect(evaluateHealth(withGpu({ temperatureCelsius: 95 })).status).to.equal("warning"));
    it("is critical above 95 °C", () =>
      expect(evaluateHealth(withGpu({ temperatureCelsius: 95.5 })).status).to.equal("critical"));
    it("does not judge a GPU that reports no temperature", () =>
      expect(evaluateHealth(withGpu({ temperatureCelsius: undefined })).status).to.equal("healthy"));
  });

  it("warns when a GPU is in error (not answering nvidia-smi)", () => {
    const h = evaluateHealth(withGpu({ error: true, temperatureCelsius: undefined }));
    expect(h).to.deep.equal({ status: "warning", reasons: ["GPU 3 is in error (nvidia-smi cannot read it)"] });
  });

  it("takes the worst status and lists every reason, worst first", () => {
    const h = evaluateHealth(
      sampleAt(at, {
        disks: [{ mount: "/", usedBytes: 92, totalBytes: 100 }],
        memoryTotalBytes: 100,
        memoryAvailableBytes: 1,
        gpus: [gpu({ index: 0, temperatureCelsius: 90 })],
      }),
    );
    expect(h.status).to.equal("critical");
    expect(h.reasons).to.deep.equal([
      "Memory has 1.0 % available (below 2 %)",
      "Disk / has 8.0 % free (below 10 %)",
      "GPU 0 is at 90 °C (above 85 °C)",
    ]);
  });

  it("exposes its thresholds frozen", () => {
    expect(HEALTH_THRESHOLDS).to.include({
      diskFreeWarningPercent: 10,
      memoryAvailableWarningPercent: 5,
      gpuTemperatureWarningCelsius: 85,
    });
    expect(Object.isFrozen(HEALTH_THRESHOLDS)).to.equal(true);
  });
});
