/** libvirt's virDomainState as names, plus "absent" for a domain the host does not have. */
export type DomainStateName =
  "nostate" | "running" | "blocked" | "paused" | "shutdown" | "shutoff" | "crashed" | "pmsuspended" | "absent";

const STATES: DomainStateName[] = [
  "nostate",
  "running",
  "blocked",
  "paused",
  "shutdown",
  "shutoff",
  "crashed",
  "pmsuspended",
];

// virDomain<State>Reason enums (libvirt-domain.h), indexed by state then reason number.
const REASONS: Record<number, string[]> = {
  0: ["unknown"],
  1: [
    "unknown",
    "booted",
    "migrated",
    "restored",
    "from snapshot",
    "unpaused",
    "migration canceled",
    "save canceled",
    "wakeup",
    "crashed",
    "post-copy",
    "post-copy failed",
  ],
  2: ["unknown"],
  3: [
    "unknown",
    "user",
    "migration",
    "save",
    "dump",
    "ioerror",
    "watchdog",
    "from snapshot",
    "shutting down",
    "snapshot",
    "crashed",
    "starting up",
    "post-copy",
    "post-copy failed",
    "api error",
  ],
  4: ["unknown", "user"],
  5: ["unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot", "daemon"],
  6: ["unknown", "panicked"],
  7: ["unknown"],
};

export function stateName(state: number): DomainStateName {
  return STATES[state] ?? "nostate";
}

export function reasonName(state: number, reason: number): string {
  return REASONS[state]?.[reason] ?? `reason ${reason}`;
}

/** A domain that is "active" in libvirt's sense: it has a QEMU process. */
export function isActive(state: DomainStateName): boolean {
  return (
    state === "running" || state === "blocked" || state === "paused" || state === "shutdown" || state === "pmsuspended"
  );
}

// virDomainEventType and each type's detail enum.
// "defined" says nothing about whether the domain runs (a running domain's definition is updated by
// a cold attach or a redefinition): "nostate", which the hub ignores, instead of a false "shutoff".
const EVENTS: [string, DomainStateName, string[]][] = [
  ["defined", "nostate", ["added", "updated", "renamed", "from snapshot"]],
  ["undefined", "absent", ["removed", "renamed"]],
  ["started", "running", ["booted", "migrated", "restored", "from snapshot", "wakeup"]],
  [
    "suspended",
    "paused",
    [
      "paused",
      "migrated",
      "ioerror",
      "watchdog",
      "restored",
      "from snapshot",
      "api error",
      "post-copy",
      "post-copy failed",
    ],
  ],
  ["resumed", "running", ["unpaused", "migrated", "from snapshot", "post-copy", "post-copy failed"]],
  ["stopped", "shutoff", ["shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot"]],
  ["shutdown", "shutdown", ["finished", "guest", "host"]],
  ["pmsuspended", "pmsuspended", ["memory", "disk"]],
  ["crashed", "crashed", ["panicked", "crashloaded"]],
];

/** "stopped/destroyed": the event and its detail as libvirt names them. */
export function lifecycleEventName(event: number, detail: number): string {
  const e = EVENTS[event];
  if (!e) return `event ${event}/${detail}`;
  return `${e[0]}/${e[2][detail] ?? `detail ${detail}`}`;
}

/** The state a lifecycle event leaves the domain in (a "shutdown" event means it is going down). */
export function stateAfterEvent(event: number): DomainStateName {
  return EVENTS[event]?.[1] ?? "nostate";
}
