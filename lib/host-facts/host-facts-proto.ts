import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  DiskType as DiskTypePb,
  GpuStatus as GpuStatusPb,
  InventorySchema,
  type Inventory,
} from "../../gen/edgehub/common/v1/inventory_pb.js";
import { MetricsSampleSchema, type MetricsSample } from "../../gen/edgehub/fleet/v1/metrics_pb.js";
import { DomainState } from "../../gen/edgehub/common/v1/compute_pb.js";
import type { DomainSample, GpuSample, HostInventory, HostMetricsSample } from "./host-facts.js";

// Wire ⇄ domain mapping for host facts. uint64 is bigint on the wire; sizes here stay below 2^53
// (8 PiB), so plain numbers are safe and keep the domain types JSON-friendly.

// The agent's disk types ("unknown" is the wire's unspecified).
const DISK_TYPE_TO_WIRE: Record<string, DiskTypePb> = {
  ssd: DiskTypePb.SSD,
  hdd: DiskTypePb.HDD,
  nvme: DiskTypePb.NVME,
};
const DISK_TYPE_FROM_WIRE: Record<DiskTypePb, string> = {
  [DiskTypePb.UNSPECIFIED]: "unknown",
  [DiskTypePb.SSD]: "ssd",
  [DiskTypePb.HDD]: "hdd",
  [DiskTypePb.NVME]: "nvme",
};

const big = (n: number): bigint => BigInt(Math.max(0, Math.round(n)));
const num = (n: bigint | undefined): number => Number(n ?? 0n);

export function inventoryToProto(inv: HostInventory): Inventory {
  return create(InventorySchema, {
    hostname: inv.hostname,
    cpu: { model: inv.cpu.model, cores: inv.cpu.cores, threads: inv.cpu.threads },
    memoryTotalBytes: big(inv.memoryTotalBytes),
    disks: inv.disks.map((d) => ({
      name: d.name,
      sizeBytes: big(d.sizeBytes),
      type: DISK_TYPE_TO_WIRE[d.type] ?? DiskTypePb.UNSPECIFIED,
    })),
    nics: inv.nics.map((n) => ({ name: n.name, mac: n.mac, ipv4: n.ipv4, speedMbps: n.speedMbps })),
    os: { ...inv.os },
    hypervisorType: inv.hypervisorType === "none" ? "" : inv.hypervisorType,
    gpus: inv.gpus.map((g) => ({
      index: g.index,
      uuid: g.uuid,
      name: g.name,
      memoryTotalMib: big(g.memoryTotalMib),
      computeCapability: g.computeCapability,
      status: g.status === "ok" ? GpuStatusPb.OK : GpuStatusPb.ERROR,
      statusDetail: g.statusDetail,
      pciBusId: g.pciBusId,
    })),
  });
}

export function inventoryFromProto(pb: Inventory): HostInventory {
  return {
    hostname: pb.hostname,
    cpu: { model: pb.cpu?.model ?? "", cores: pb.cpu?.cores ?? 0, threads: pb.cpu?.threads ?? 0 },
    memoryTotalBytes: num(pb.memoryTotalBytes),
    disks: pb.disks.map((d) => ({
      name: d.name,
      sizeBytes: num(d.sizeBytes),
      type: DISK_TYPE_FROM_WIRE[d.type] ?? "unknown",
    })),
    nics: pb.nics.map((n) => ({ name: n.name, mac: n.mac, ipv4: n.ipv4, speedMbps: n.speedMbps })),
    os: {
      platform: pb.os?.platform ?? "",
      distro: pb.os?.distro ?? "",
      release: pb.os?.release ?? "",
      kernel: pb.os?.kernel ?? "",
      arch: pb.os?.arch ?? "",
    },
    hypervisorType: pb.hypervisorType || "none",
    gpus: pb.gpus.map((g) => ({
      index: g.index,
      uuid: g.uuid,
      name: g.name,
      memoryTotalMib: num(g.memoryTotalMib),
      computeCapability: g.computeCapability,
      // An old agent that does not set the status gets the benefit of the doubt.
      status: g.status === GpuStatusPb.ERROR ? "error" : "ok",
      statusDetail: g.statusDetail,
      pciBusId: g.pciBusId,
    })),
  };
}

export function metricsToProto(s: HostMetricsSample): MetricsSample {
  return create(MetricsSampleSchema, {
    sampleTime: timestampFromDate(s.sampledAt),
    cpuUtilizationPercent: s.cpuUtilizationPercent,
    load1: s.load1,
    load5: s.load5,
    load15: s.load15,
    memoryTotalBytes: big(s.memoryTotalBytes),
    memoryAvailableBytes: big(s.memoryAvailableBytes),
    disks: s.disks.map((d) => ({ mount: d.mount, usedBytes: big(d.usedBytes), totalBytes: big(d.totalBytes) })),
    networkRxBytesPerSecond: s.networkRxBytesPerSecond,
    networkTxBytesPerSecond: s.networkTxBytesPerSecond,
    gpus: s.gpus.map((g) => ({
      index: g.index,
      uuid: g.uuid,
      utilizationPercent: g.utilizationPercent,
      memoryUsedMib: g.memoryUsedMib === undefined ? undefined : big(g.memoryUsedMib),
      memoryTotalMib: g.memoryTotalMib === undefined ? undefined : big(g.memoryTotalMib),
      temperatureCelsius: g.temperatureCelsius,
      powerDrawWatts: g.powerDrawWatts,
      error: g.error,
    })),
  });
}

/** `receivedAt` stands in for a missing sampled_at (an agent must set it, but the hub must not crash). */
export function metricsFromProto(pb: MetricsSample, receivedAt: Date): HostMetricsSample {
  return {
    sampledAt: pb.sampleTime ? timestampDate(pb.sampleTime) : receivedAt,
    cpuUtilizationPercent: pb.cpuUtilizationPercent,
    load1: pb.load1,
    load5: pb.load5,
    load15: pb.load15,
    memoryTotalBytes: num(pb.memoryTotalBytes),
    memoryAvailableBytes: num(pb.memoryAvailableBytes),
    disks: pb.disks.map((d) => ({ mount: d.mount, usedBytes: num(d.usedBytes), totalBytes: num(d.totalBytes) })),
    networkRxBytesPerSecond: pb.networkRxBytesPerSecond,
    networkTxBytesPerSecond: pb.networkTxBytesPerSecond,
    gpus: pb.gpus.map((g): GpuSample => ({
      index: g.index,
      uuid: g.uuid,
      utilizationPercent: g.utilizationPercent,
      memoryUsedMib: g.memoryUsedMib === undefined ? undefined : num(g.memoryUsedMib),
      memoryTotalMib: g.memoryTotalMib === undefined ? undefined : num(g.memoryTotalMib),
      temperatureCelsius: g.temperatureCelsius,
      powerDrawWatts: g.powerDrawWatts,
      error: g.error,
    })),
    // Only compute agents send domains; other samples keep the field absent, as they were sent.
    ...(pb.domains.length === 0 ? {} : { domains: pb.domains.map(domainFromProto) }),
  };
}

function domainFromProto(d: MetricsSample["domains"][number]): DomainSample {
  return {
    name: d.name,
    uuid: d.uuid,
    state: DomainState[d.state]?.toLowerCase() ?? "unspecified",
    cpuTimeNs: num(d.cpuTimeNs),
    vcpus: d.vcpus,
    memoryMaxKib: num(d.memoryMaxKib),
    memoryUsedKib: num(d.memoryUsedKib),
    diskReadBytes: num(d.diskReadBytes),
    diskWriteBytes: num(d.diskWriteBytes),
    netRxBytes: num(d.netRxBytes),
    netTxBytes: num(d.netTxBytes),
  };
}
