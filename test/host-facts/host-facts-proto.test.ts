import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { InventorySchema } from "../../gen/edgehub/common/v1/inventory_pb.js";
import { MetricsSampleSchema } from "../../gen/edgehub/fleet/v1/metrics_pb.js";
import type { HostInventory, HostMetricsSample } from "../../lib/host-facts/host-facts.js";
import {
  inventoryFromProto,
  inventoryToProto,
  metricsFromProto,
  metricsToProto,
} from "../../lib/host-facts/host-facts-proto.js";

const inventory: HostInventory = {
  hostname: "gpu-07.edge-sz",
  cpu: { model: "AMD EPYC 7763", cores: 64, threads: 128 },
  memoryTotalBytes: 1024 * 1024 ** 3,
  disks: [
    { name: "nvme0n1", sizeBytes: 3.84e12, type: "nvme" },
    { name: "sda", sizeBytes: 1e12, type: "unknown" },
  ],
  nics: [{ name: "eno1", mac: "3c:ec:ef:00:11:22", ipv4: "10.20.0.7", speedMbps: 25000 }],
  os: { platform: "linux", distro: "Ubuntu", release: "22.04.4 LTS", kernel: "5.15.0-105-generic", arch: "x64" },
  hypervisorType: "kvm",
  gpus: [
    {
      index: 0,
      uuid: "GPU-a",
      name: "NVIDIA A100-SXM4-80GB",
      memoryTotalMib: 81920,
      computeCapability: "8.0",
      status: "ok",
      statusDetail: "",
      pciBusId: "00000000:07:00.0",
    },
    {
      index: 1,
      uuid: "",
      name: "",
      memoryTotalMib: 0,
      computeCapability: "",
      status: "error",
      statusDetail: "[GPU is lost] in uuid",
      pciBusId: "",
    },
  ],
};

const sample: HostMetricsSample = {
  sampledAt: new Date("2026-11-22T08:00:30.250Z"),
  cpuUtilizationPercent: 37.5,
  load1: 12.1,
  load5: 10.4,
  load15: 9.9,
  memoryTotalBytes: 1024 * 1024 ** 3,
  memoryAvailableBytes: 300 * 1024 ** 3,
  disks: [{ mount: "/", usedBytes: 2e11, totalBytes: 1e12 }],
  networkRxBytesPerSecond: 1.5e8,
  networkTxBytesPerSecond: 2.5e7,
  gpus: [
    {
      index: 0,
      uuid: "GPU-a",
      utilizationPercent: 98,
      memoryUsedMib: 70000,
      memoryTotalMib: 81920,
      temperatureCelsius: 71,
      powerDrawWatts: 380.5,
      error: false,
    },
    {
      index: 1,
      uuid: "",
      utilizationPercent: undefined,
      memoryUsedMib: undefined,
      memoryTotalMib: undefined,
      temperatureCelsius: undefined,
      powerDrawWatts: undefined,
      error: true,
    },
  ],
};

describe("host facts wire mapping", () => {
  it("round-trips an inventory through the binary wire format", () => {
    const wire = toBinary(InventorySchema, inventoryToProto(inventory));
    expect(inventoryFromProto(fromBinary(InventorySchema, wire))).to.deep.equal(inventory);
  });

  it("round-trips a metrics sample, keeping absent GPU readings absent rather than zero", () => {
    const wire = toBinary(MetricsSampleSchema, metricsToProto(sample));
    const back = metricsFromProto(fromBinary(MetricsSampleSchema, wire), new Date(0));
    expect(back).to.deep.equal(sample);
  });

  it("uses the receive time when an agent leaves sample_time out", () => {
    const pb = metricsToProto(sample);
    pb.sampleTime = undefined;
    const received = new Date("2026-11-22T08:01:00Z");
    expect(metricsFromProto(pb, received).sampledAt).to.deep.equal(received);
  });
});
