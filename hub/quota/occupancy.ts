import { InvalidArgumentError } from "../domain/errors.js";
import { zeroResources, type Resources } from "./quota-dimensions.js";

/** Instance states of 000 §10.4.1, in lifecycle order. */
export const INSTANCE_QUOTA_STATES = [
  "creating",
  "initializing",
  "running",
  "suspended",
  "stopping",
  "stopped",
  "terminating",
  "deleted",
] as const;
export type InstanceQuotaState = (typeof INSTANCE_QUOTA_STATES)[number];

export type ConsumerType = "instance" | "private_data_disk";

export interface OccupancyOptions {
  /** 000 §10.4.1 "支持配置是否在stopped状态释放IP": release the IP of stopped instances. Default false. */
  releaseIpWhenStopped?: boolean;
}

/**
 * What an instance in `state` occupies, exactly per the table of 000 §10.4.1:
 *
 *   state         cpu mem storage bandwidth ip   instances
 *   creating       ✔   ✔    ✔        ✔      ✔      ✔
 *   initializing   ✔   ✔    ✔        ✔      ✔      ✔
 *   running        ✔   ✔    ✔        ✔      ✔      ✔
 *   suspended      ✔   ✔    ✔        ✗      ✔      ✔
 *   stopping       ✔   ✔    ✔        ✗      ✔      ✔
 *   stopped        ✗   ✗    ✔        ✗      ✔      ✔
 *   terminating    ✗   ✗    ✔        ✗      ✗      ✗
 *   deleted        ✗   ✗    ✗        ✗      ✗      ✗
 *
 * The table has no instance-count column; an instance counts while it is not being deleted
 * (terminating "keeps only storage"). Instances never hold private data disk quota: disks do.
 */
export function instanceOccupancy(
  state: InstanceQuotaState,
  resources: Resources,
  options: OccupancyOptions = {},
): Resources {
  const out = zeroResources();
  const all = state === "creating" || state === "initializing" || state === "running";
  const computeHeld = all || state === "suspended" || state === "stopping";
  const ipHeld = computeHeld || (state === "stopped" && !options.releaseIpWhenStopped);
  const storageHeld = state !== "deleted";
  if (state !== "terminating" && state !== "deleted") out.instances = 1;
  if (computeHeld) {
    out.cpu_cores = resources.cpu_cores;
    out.memory_gb = resources.memory_gb;
  }
  if (all) out.bandwidth_gbps = resources.bandwidth_gbps;
  if (storageHeld) out.storage_gb = resources.storage_gb;
  // An instance holds its own address count (1 unless it has several NICs).
  if (ipHeld) out.ip_addresses = resources.ip_addresses;
  return out;
}

/** A private data disk holds its size in every state but deleted, attached or not (000 §3.0.4). */
export function diskOccupancy(state: string, resources: Resources): Resources {
  const out = zeroResources();
  if (state !== "deleted") out.private_data_disk_gb = resources.private_data_disk_gb;
  return out;
}

export function isInstanceQuotaState(s: string): s is InstanceQuotaState {
  return (INSTANCE_QUOTA_STATES as readonly string[]).includes(s);
}

/** What a consumer occupies in a state: the pure rule the ledger stores in its occ_* columns. */
export function occupancy(
  type: ConsumerType,
  state: string,
  resources: Resources,
  options: OccupancyOptions = {},
): Resources {
  if (type === "private_data_disk") return diskOccupancy(state, resources);
  if (!isInstanceQuotaState(state))
    throw new InvalidArgumentError("state", `must be one of ${INSTANCE_QUOTA_STATES.join(", ")}, got ${state}`);
  return instanceOccupancy(state, resources, options);
}
