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
  // Events go out in the order libvirt gave them, even when one waits for a describe: a domain's
  // "defined" may arrive before its define call has returned the instance id.
  let previous: Promise<void> = Promise.resolve();
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
    const instanceId: Promise<string> =
      known !== undefined || state === "absent"
        ? Promise.resolve(known ?? "")
        : ops.describe(e.name).then(
            (f) => f.instanceId,
            () => "",
          );
    previous = previous.then(() => instanceId.then(report));
  };
}
