import path from "node:path";
import type { Logger } from "pino";
import type { DomainStats } from "../../gen/edgehub/common/v1/compute_pb.js";
import type { CommandExecutors } from "../../lib/fleet-session/command-dispatcher.js";
import { DomainOps } from "../libvirt/domain-ops.js";
import type { DomainType } from "../libvirt/domain-xml.js";
import { LibvirtLink } from "../libvirt/libvirt-link.js";
import { lifecycleReporter, type DomainLifecycleEvent } from "../libvirt/lifecycle-reporter.js";
import { allDomainStats } from "../libvirt/stats.js";
import { attachDisk } from "./disk-attach.js";
import { detachDisk } from "./disk-detach.js";
import { domainExecutors } from "./domain-executors.js";
import type { EnsureImage } from "./domain-overlay.js";
import { domainStatsToWire } from "./domain-report.js";

export interface ComputeRoleOptions {
  libvirtUri: string;
  domainType: DomainType;
  instanceDir: string;
  ensureImage: EnsureImage;
  log: Logger;
}

/** The compute role's pieces over one libvirt link: executors, per-domain stats, lifecycle events. */
export interface ComputeRole {
  executors: CommandExecutors;
  sampleDomains: () => Promise<DomainStats[]>;
  /** Starts sending lifecycle events (libvirt's event loop; see agent/libvirt/event-loop.ts). */
  reportLifecycle(send: (e: DomainLifecycleEvent) => void): void;
  close(): Promise<void>;
}

function diskExecutors(d: Parameters<typeof attachDisk>[0]): CommandExecutors {
  return { attachDisk: attachDisk(d), detachDisk: detachDisk(d) };
}

export function createComputeRole(o: ComputeRoleOptions): ComputeRole {
  const link = new LibvirtLink(o.libvirtUri, { events: true });
  const ops = new DomainOps(link);
  // Connect now so a missing libvirtd shows in the log at start; commands retry the connection.
  link.connect().then(
    () => o.log.info({ uri: o.libvirtUri }, "Connected to libvirt"),
    (err) => o.log.error({ err, uri: o.libvirtUri }, `Cannot connect to libvirt: ${(err as Error).message}`),
  );
  return {
    executors: {
      ...domainExecutors({
        ops,
        ensureImage: o.ensureImage,
        instanceDir: o.instanceDir,
        domainType: o.domainType,
      }),
      // RBD data disks (rbd.proto); QEMU reads the Ceph client confs from beside the instances.
      ...diskExecutors({ ops, clientConfDir: path.join(o.instanceDir, ".rbd-clients") }),
    },
    sampleDomains: async () => (await allDomainStats(link)).map(domainStatsToWire),
    reportLifecycle: (send) => link.onLifecycle(lifecycleReporter(ops, send)),
    close: () => link.close(),
  };
}
