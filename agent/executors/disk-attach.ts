import { create } from "@bufbuild/protobuf";
import { CommandResultSchema, type CommandResult } from "../../gen/edgehub/common/v1/command_pb.js";
import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";
import { AFFECT_CONFIG, AFFECT_LIVE, type DomainOps } from "../libvirt/domain-ops.js";
import { isActive } from "../libvirt/domain-state.js";
import { DOMAIN_NAME } from "../libvirt/domain-xml.js";
import { domainDisks, rbdDiskXml, type DomainDisk } from "../libvirt/rbd-disk-xml.js";
import { ensureRbdClientConf } from "./rbd-client-conf.js";

export interface DiskExecutorDeps {
  ops: DomainOps;
  /** Where the Ceph client confs QEMU reads are written (readable by libvirt-qemu). */
  clientConfDir: string;
}

export function attachedDiskResult(domainName: string, targetDev: string, attached: boolean, live: boolean) {
  return create(CommandResultSchema, {
    kind: { case: "attachedDisk", value: { domainName, targetDev, attached, live } },
  }) as CommandResult;
}

function sameDisk(found: DomainDisk, source: string, name: string): void {
  if (found.protocol !== "rbd" || found.source !== source)
    throw new Error(
      `Cannot attach ${source} to domain ${name} as ${found.targetDev}: ${found.targetDev} already holds ${found.source || "another disk"}`,
    );
}

/**
 * attach_disk: the persistent definition always gets the disk (a stopped domain has it at its next
 * start); a running domain gets it hot-plugged too when `live` is set. Each half is skipped when the
 * domain already has the disk at that target, so a repeated command succeeds without a second device.
 */
export function attachDisk(d: DiskExecutorDeps): CommandExecutor<"attachDisk"> {
  return async (p) => {
    if (!DOMAIN_NAME.test(p.domainName)) throw new Error(`Invalid attach_disk: "${p.domainName}" is not a domain name`);
    if (!p.image) throw new Error("Invalid attach_disk: image is required");
    if (!p.cluster) throw new Error("Invalid attach_disk: cluster is required");
    const source = `${p.image.pool}/${p.image.image}`;
    const conf = await ensureRbdClientConf(d.clientConfDir, p.cluster);
    const xml = rbdDiskXml({
      pool: p.image.pool,
      image: p.image.image,
      targetDev: p.targetDev,
      readOnly: p.readOnly,
      shareable: p.shareable,
      clientConfPath: conf,
      authUser: p.cluster.authUser,
      secretUuid: p.cluster.secretUuid,
    });
    const persistent = await d.ops.readXml(p.domainName, true);
    const inConfig = domainDisks(persistent.xml).find((x) => x.targetDev === p.targetDev);
    if (inConfig) sameDisk(inConfig, source, p.domainName);
    let flags = inConfig ? 0 : AFFECT_CONFIG;
    let live = false;
    if (p.live && isActive(persistent.state)) {
      const running = await d.ops.readXml(p.domainName, false);
      const inLive = domainDisks(running.xml).find((x) => x.targetDev === p.targetDev);
      if (inLive) {
        sameDisk(inLive, source, p.domainName);
        live = true;
      } else flags |= AFFECT_LIVE;
    }
    if (flags !== 0) await d.ops.attachDevice(p.domainName, xml, flags);
    if (flags & AFFECT_LIVE) live = true;
    return attachedDiskResult(p.domainName, p.targetDev, true, live);
  };
}
