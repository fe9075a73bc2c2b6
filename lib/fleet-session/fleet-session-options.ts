import type { Logger } from "pino";
import type { DomainStats } from "../../gen/edgehub/common/v1/compute_pb.js";
import type { CloudBoxDeviceMetrics, CloudBoxFacts } from "../../gen/edgehub/fleet/v1/cloud_box_pb.js";
import type { FullJitterBackoff } from "../backoff/full-jitter-backoff.js";
import type { HostInventory, HostMetricsSample } from "../host-facts/host-facts.js";
import type { CommandExecutors } from "./command-dispatcher.js";
import type { FleetRole } from "./fleet-role.js";

export interface FleetSessionOptions {
  /** host:port of the hub's agent endpoint; several, comma-separated, for a multi-hub site (tried in turn). */
  hub: string;
  role: FleetRole;
  stateDir: string;
  /** Needed only for the first run (no identity in the state dir yet). */
  joinToken?: string | undefined;
  hubCaFile?: string | undefined;
  hostname: string;
  agentVersion: string;
  executors: CommandExecutors;
  collectInventory: () => Promise<HostInventory>;
  /** Host metrics every metrics interval from Welcome; none when absent. */
  sampleMetrics?: (() => Promise<HostMetricsSample>) | undefined;
  /** Compute agents: per-domain counters added to each metrics sample; a failure sends the sample without. */
  sampleDomains?: (() => Promise<DomainStats[]>) | undefined;
  /** Cloud boxes: serial, MAC, model, firmware, network config, sent at enrollment and in each Hello. */
  cloudBoxFacts?: (() => Promise<CloudBoxFacts>) | undefined;
  /** Cloud boxes: the device metrics added to each metrics sample. */
  sampleCloudBoxMetrics?: (() => Promise<CloudBoxDeviceMetrics>) | undefined;
  log: Logger;
  backoff?: FullJitterBackoff;
  /** Called when the hub refuses this agent for good (revoked, unknown): the program should exit. */
  onFatal?: (err: Error) => void;
  /** Session events for the program's own metrics (the agent's /metrics). */
  observer?: SessionObserver | undefined;
}

/** What a program may count about its session; every method is optional. */
export interface SessionObserver {
  connected?(hubId: string): void;
  disconnected?(reason: string): void;
  heartbeatSent?(): void;
  /** A command finished here (not a journal replay), with how long the executor ran. */
  commandFinished?(kind: string, state: "succeeded" | "failed" | "cancelled", seconds: number): void;
}
