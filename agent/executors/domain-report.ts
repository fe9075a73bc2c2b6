import { create } from "@bufbuild/protobuf";
import { CommandResultSchema, type CommandResult } from "../../gen/edgehub/common/v1/command_pb.js";
import {
  DomainReportSchema,
  DomainState,
  DomainStatsSchema,
  GraphicsProtocol,
  type DomainReport,
  type DomainStats,
} from "../../gen/edgehub/common/v1/compute_pb.js";
import type { DomainFacts } from "../libvirt/domain-ops.js";
import type { DomainStateName } from "../libvirt/domain-state.js";
import type { DomainCounters } from "../libvirt/stats.js";

const STATE_TO_WIRE: Record<DomainStateName, DomainState> = {
  nostate: DomainState.UNSPECIFIED,
  running: DomainState.RUNNING,
  blocked: DomainState.BLOCKED,
  paused: DomainState.PAUSED,
  shutdown: DomainState.SHUTDOWN,
  shutoff: DomainState.SHUTOFF,
  crashed: DomainState.CRASHED,
  pmsuspended: DomainState.PMSUSPENDED,
  absent: DomainState.ABSENT,
};

export function domainStateToWire(state: DomainStateName): DomainState {
  return STATE_TO_WIRE[state];
}

/** What libvirt knows about a domain, as the DomainReport the hub reads. */
export function domainReport(f: DomainFacts): DomainReport {
  const g = f.graphics;
  return create(DomainReportSchema, {
    name: f.name,
    uuid: f.uuid,
    state: STATE_TO_WIRE[f.state],
    reason: f.reason,
    graphicsProtocol: !g
      ? GraphicsProtocol.UNSPECIFIED
      : g.type === "spice"
        ? GraphicsProtocol.SPICE
        : GraphicsProtocol.VNC,
    graphicsHost: g?.listen ?? "",
    graphicsPort: g?.port ?? 0,
    serialLogPath: f.serialLogPath,
    overlayPath: f.overlayPath,
    instanceId: f.instanceId,
  });
}

export function domainResult(f: DomainFacts): CommandResult {
  return create(CommandResultSchema, { kind: { case: "domain", value: domainReport(f) } });
}

export function domainStatsToWire(c: DomainCounters): DomainStats {
  return create(DomainStatsSchema, {
    name: c.name,
    uuid: c.uuid,
    state: STATE_TO_WIRE[c.state],
    cpuTimeNs: c.cpuTimeNs,
    vcpus: c.vcpus,
    memoryMaxKib: c.memoryMaxKib,
    memoryUsedKib: c.memoryUsedKib < 0n ? 0n : c.memoryUsedKib,
    diskReadBytes: c.diskReadBytes,
    diskWriteBytes: c.diskWriteBytes,
    netRxBytes: c.netRxBytes,
    netTxBytes: c.netTxBytes,
  });
}
