import type { LifecycleEvent } from "./connection.js";
import type { DomainOps } from "./domain-ops.js";
import { stateAfterEvent } from "./domain-state.js";

/** The fleet Event "domain.lifecycle" as the session sends it. */
export interface DomainLifecycleEvent {
  kind: "domain.lifecycle";
  severity: "info" | "warning";
  message: string;
  attributes: { name: string; uuid: string; state: string; reason: string; instance_id: string; event: string };
}

/**
 * Turns libvirt lifecycle events into fleet events. The callback itself must not call libvirt, so
 * the instance id comes from the ids DomainOps saw in domain XML (every domain the agent defined or
 * listed); only an unknown domain is described after the event.
 */
export function lifecycleReporter(
  ops: DomainOps,
  send: (e: DomainLifecycleEvent) => void,
): (e: LifecycleEvent) => void {
  return (e) => {
    const [eventName = "", detail = ""] = e.eventName.split("/");
    const state = stateAfterEvent(e.event);
    const report = (instanceId: string) =>
      send({
        kind: "domain.lifecycle",
        severity: eventName === "crashed" || detail === "crashed" || detail === "failed" ? "warning" : "info",
        message: `Domain ${e.name} ${eventName} (${detail})`,
        attributes: { name: e.name, uuid: e.uuid, state, reason: detail, instance_id: instanceId, event: e.eventName },
      });
    // Someone (re)defined or undefined it: the config DomainOps remembers may no longer be true.
    if (eventName === "defined" || eventName === "undefined") ops.forgetConfig(e.uuid);
    const known = ops.instanceIds.get(e.uuid);
    if (state === "absent") ops.instanceIds.delete(e.uuid);
    if (known !== undefined || state === "absent") {
      report(known ?? "");
      return;
    }
    ops.describe(e.name).then(
      (f) => report(f.instanceId),
      () => report(""),
    );
  };
}
