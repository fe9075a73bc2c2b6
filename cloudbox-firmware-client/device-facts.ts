import { createHash } from "node:crypto";
import os from "node:os";
import { create } from "@bufbuild/protobuf";
import { CloudBoxFactsSchema, NetworkMode, type CloudBoxFacts } from "../gen/edgehub/fleet/v1/cloud_box_pb.js";
import type { BoxConfig } from "./box-config.js";

/** The box's first non-internal IPv4 interface, as the device's own address and MAC. */
function primaryInterface(): { address: string; mac: string; netmask: string } | undefined {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? [])
      if (!a.internal && a.family === "IPv4" && a.mac !== "00:00:00:00:00:00")
        return { address: a.address, mac: a.mac, netmask: a.netmask };
  }
  return undefined;
}

/** A locally administered MAC derived from the serial, for a device without a NIC we can read. */
function macFromSerial(serial: string): string {
  const b = createHash("sha256").update(serial).digest();
  b[0] = (b[0]! & 0xfc) | 0x02;
  return [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** DNS servers from resolv.conf when the flags name none. */
function resolvers(readFile: (p: string) => string): string[] {
  try {
    return readFile("/etc/resolv.conf")
      .split("\n")
      .map((l) => /^nameserver\s+(\S+)/.exec(l.trim())?.[1])
      .filter((s): s is string => !!s);
  } catch {
    return [];
  }
}

/**
 * What the box says about itself at enrollment and in each Hello (000 §1.6): serial number, MAC,
 * model, firmware version and network config. Flags win; the rest is read from the device.
 */
export function deviceFacts(
  config: BoxConfig,
  firmwareVersion: () => string,
  readFile: (p: string) => string,
): () => Promise<CloudBoxFacts> {
  return async () => {
    const nic = primaryInterface();
    return create(CloudBoxFactsSchema, {
      serialNumber: config.serialNumber,
      macAddress: (config.macAddress ?? nic?.mac ?? macFromSerial(config.serialNumber)).toLowerCase(),
      model: config.model,
      manufacturer: config.manufacturer,
      firmwareVersion: firmwareVersion(),
      ipAddress: nic?.address ?? "",
      network: {
        mode: config.networkMode === "static" ? NetworkMode.STATIC : NetworkMode.DHCP,
        gateway: config.gateway ?? "",
        dnsServers: config.dns.length > 0 ? config.dns : resolvers(readFile),
        subnetMask: config.subnetMask ?? nic?.netmask ?? "",
      },
    });
  };
}
