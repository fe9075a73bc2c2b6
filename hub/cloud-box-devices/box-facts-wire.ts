import type {
  CloudBoxDeviceMetrics,
  CloudBoxFacts,
  CloudBoxNetworkConfig,
} from "../../gen/edgehub/fleet/v1/cloud_box_pb.js";
import { NetworkMode as ModePb } from "../../gen/edgehub/fleet/v1/cloud_box_pb.js";
import type { BoxFacts, DeviceMetrics, NetworkConfig } from "./box-facts.js";
import { NETWORK_MODE } from "./box-facts-enums.js";

// The agent link of cloud boxes: wire facts and metrics ⇄ domain, in one place.

export function networkFromProto(n: CloudBoxNetworkConfig | undefined): NetworkConfig | null {
  if (!n) return null;
  return {
    mode: NETWORK_MODE.toDbFilter("cloud_box.network.mode", n.mode),
    gateway: n.gateway.trim(),
    dnsServers: n.dnsServers.map((s) => s.trim()).filter((s) => s !== ""),
    subnetMask: n.subnetMask.trim(),
  };
}

export function boxFactsFromProto(f: CloudBoxFacts | undefined): BoxFacts | null {
  if (!f) return null;
  return {
    serialNumber: f.serialNumber.trim(),
    macAddress: f.macAddress.trim().toLowerCase(),
    model: f.model.trim(),
    manufacturer: f.manufacturer.trim(),
    firmwareVersion: f.firmwareVersion.trim(),
    ipAddress: f.ipAddress.trim(),
    network: networkFromProto(f.network),
  };
}

export function deviceMetricsFromProto(m: CloudBoxDeviceMetrics): DeviceMetrics {
  const pct = (v: number) => (Number.isFinite(v) ? Math.min(100, Math.max(0, v)) : 0);
  return {
    cpuUsagePercent: pct(m.cpuUsagePercent),
    memoryUsagePercent: pct(m.memoryUsagePercent),
    diskUsagePercent: pct(m.diskUsagePercent),
    temperatureCelsius:
      m.temperatureCelsius !== undefined && Number.isFinite(m.temperatureCelsius) ? m.temperatureCelsius : null,
    uptimeSeconds: Number(m.uptimeSeconds),
  };
}

export function networkModeToProto(mode: NetworkConfig["mode"]): ModePb {
  return mode ? NETWORK_MODE.fromDb(mode) : ModePb.UNSPECIFIED;
}
