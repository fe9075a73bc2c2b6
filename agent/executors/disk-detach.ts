import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";
import { AFFECT_CONFIG, AFFECT_LIVE } from "../libvirt/domain-ops.js";
import { isActive } from "../libvirt/domain-state.js";
import { DOMAIN_NAME } from "../libvirt/domain-xml.js";
import { isLibvirtError, VIR_ERR } from "../libvirt/errors.js";
import { diskTargetXml, domainDisks } from "../libvirt/rbd-disk-xml.js";
import { attachedDiskResult, type DiskExecutorDeps } from "./disk-attach.js";

const UNPLUG_WAIT_MS = 20_000;
const UNPLUG_POLL_MS = 200;

/**
 * detach_disk: removed from the persistent definition and, with `live`, from the running domain.
 * A live unplug needs the guest's consent (ACPI): libvirt returns once it asked, so the device is
 * watched until it is gone or the wait ends; the report says whether the running domain still has it.
 * A device (or domain) that is not there is success.
 */
export function detachDisk(d: DiskExecutorDeps): CommandExecutor<"detachDisk"> {
  return async (p, ctx) => {
    if (!DOMAIN_NAME.test(p.domainName)) throw new Error(`Invalid detach_disk: "${p.domainName}" is not a domain name`);
    const device = diskTargetXml(p.targetDev);
    let persistent;
    try {
      persistent = await d.ops.readXml(p.domainName, true);
    } catch (err) {
      if (isLibvirtError(err, VIR_ERR.NO_DOMAIN)) return attachedDiskResult(p.domainName, p.targetDev, false, false);
      throw err;
    }
    const has = (xml: string) => domainDisks(xml).some((x) => x.targetDev === p.targetDev);
    const running = isActive(persistent.state);
    const inLive = p.live && running && has((await d.ops.readXml(p.domainName, false)).xml);
    const flags = (has(persistent.xml) ? AFFECT_CONFIG : 0) | (inLive ? AFFECT_LIVE : 0);
    if (flags !== 0) await d.ops.detachDevice(p.domainName, device, flags);
    let live = running && has((await d.ops.readXml(p.domainName, false)).xml);
    const until = Date.now() + UNPLUG_WAIT_MS;
    while (live && p.live && Date.now() < until && !ctx.signal.aborted) {
      await new Promise((r) => setTimeout(r, UNPLUG_POLL_MS));
      const now = await d.ops.readXml(p.domainName, false);
      live = isActive(now.state) && has(now.xml);
    }
    const inConfig = has((await d.ops.readXml(p.domainName, true)).xml);
    return attachedDiskResult(p.domainName, p.targetDev, inConfig || live, live);
  };
}
