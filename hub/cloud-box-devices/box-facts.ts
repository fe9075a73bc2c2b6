import type { NetworkMode } from "./box-facts-enums.js";

// What a box reports about itself (000 §1.6): facts at enrollment and in each Hello, device metrics.

/** The device metrics of 000 §1.6, as last reported. */
export interface DeviceMetrics {
  cpuUsagePercent: number;
  memoryUsagePercent: number;
  diskUsagePercent: number;
  temperatureCelsius: number | null;
  uptimeSeconds: number;
}

export interface NetworkConfig {
  mode: NetworkMode | null;
  gateway: string;
  dnsServers: string[];
  subnetMask: string;
}

/** What a box says about itself at enrollment and in each Hello. */
export interface BoxFacts {
  serialNumber: string;
  macAddress: string;
  model: string;
  manufacturer: string;
  firmwareVersion: string;
  ipAddress: string;
  network: NetworkConfig | null;
}
