import fs from "node:fs";
import os from "node:os";
import type { HostInventory, HostMetricsSample } from "../lib/host-facts/host-facts.js";

// A box's inventory and host sample from Node's `os` alone: a terminal has no GPUs or hypervisor,
// and the full systeminformation walk the compute agent does costs processes a box need not spend
// (thirty boxes in one test, hundreds on a floor).

export function boxInventory(hostname: string): () => Promise<HostInventory> {
  return async () => {
    const cpus = os.cpus();
    return {
      hostname,
      cpu: { model: cpus[0]?.model ?? "", cores: cpus.length, threads: cpus.length },
      memoryTotalBytes: os.totalmem(),
      disks: [],
      nics: Object.entries(os.networkInterfaces()).flatMap(([name, addrs]) =>
        (addrs ?? [])
          .filter((a) => !a.internal && a.family === "IPv4")
          .map((a) => ({ name, mac: a.mac, ipv4: a.address, speedMbps: 0 })),
      ),
      os: { platform: os.platform(), distro: "", release: os.release(), kernel: os.release(), arch: os.arch() },
      hypervisorType: "none",
      gpus: [],
    };
  };
}

export function boxHostSample(diskPath: string): () => Promise<HostMetricsSample> {
  return async () => {
    const [l1, l5, l15] = os.loadavg();
    const st = await fs.promises.statfs(diskPath);
    return {
      sampledAt: new Date(),
      cpuUtilizationPercent: Math.min(100, (100 * (l1 ?? 0)) / Math.max(1, os.cpus().length)),
      load1: l1 ?? 0,
      load5: l5 ?? 0,
      load15: l15 ?? 0,
      memoryTotalBytes: os.totalmem(),
      memoryAvailableBytes: os.freemem(),
      disks: [{ mount: diskPath, usedBytes: (st.blocks - st.bavail) * st.bsize, totalBytes: st.blocks * st.bsize }],
      networkRxBytesPerSecond: 0,
      networkTxBytesPerSecond: 0,
      gpus: [],
    };
  };
}
