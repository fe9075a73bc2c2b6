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
 * Turns libvirt lifecycle events into fleet events. The instance id comes from the domain's
 * metadata, read after the event (the callback itself must not call libvirt); an undefined domain
 * is gone by then, so ids seen earlier are remembered by uuid.
 */
export function lifecycleReporter(
  ops: DomainOps,
  send: (e: DomainLifecycleEvent) => void,
): (e: LifecycleEvent) => void {
  const instanceIds = new Map<string, string>();
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
    if (state === "absent") {
      report(instanceIds.get(e.uuid) ?? "");
      instanceIds.delete(e.uuid);
      return;
    }
    ops.describe(e.name).then(
      (f) => {
        if (f.instanceId) instanceIds.set(e.uuid, f.instanceId);
        report(f.instanceId || (instanceIds.get(e.uuid) ?? ""));
      },
      () => report(instanceIds.get(e.uuid) ?? ""),
    );
  };
}
