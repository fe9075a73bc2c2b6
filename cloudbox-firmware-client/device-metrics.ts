import fs from "node:fs";
import os from "node:os";
import { create } from "@bufbuild/protobuf";
import { CloudBoxDeviceMetricsSchema, type CloudBoxDeviceMetrics } from "../gen/edgehub/fleet/v1/cloud_box_pb.js";

// The spec's device metrics (000 §1.6) from the kernel's own counters: cheap enough that thirty
// boxes on one test machine cost nothing (no systeminformation walk per sample).

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

function temperature(): number | undefined {
  try {
    const milli = Number(fs.readFileSync("/sys/class/thermal/thermal_zone0/temp", "utf8").trim());
    return Number.isFinite(milli) ? milli / 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples CPU (since the previous sample), memory, disk of `diskPath`, temperature, uptime. */
export function deviceMetricsSampler(diskPath: string): () => Promise<CloudBoxDeviceMetrics> {
  let previous = cpuTimes();
  return async () => {
    const now = cpuTimes();
    const total = now.total - previous.total;
    const cpu = total > 0 ? (100 * (now.busy - previous.busy)) / total : 0;
    previous = now;
    const st = await fs.promises.statfs(diskPath);
    const disk = st.blocks > 0 ? (100 * (st.blocks - st.bavail)) / st.blocks : 0;
    const mem = (100 * (os.totalmem() - os.freemem())) / os.totalmem();
    const temp = temperature();
    return create(CloudBoxDeviceMetricsSchema, {
      cpuUsagePercent: cpu,
      memoryUsagePercent: mem,
      diskUsagePercent: disk,
      ...(temp !== undefined ? { temperatureCelsius: temp } : {}),
      uptimeSeconds: BigInt(Math.floor(os.uptime())),
    });
  };
}
