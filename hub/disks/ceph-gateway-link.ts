import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Knex } from "knex";
import { CommandPayloadSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { createCommand, type AgentCommand } from "../fleet/command-store.js";
import { isFinal } from "../fleet/command-lifecycle.js";
import { payloadToStore, resultFromStore } from "../fleet/command-wire.js";
import { notifyFleet } from "../fleet/fleet-notifier.js";
import { GIB } from "./disk.js";

// The disks feature's link to ceph_gateway agents: the commands of rbd.proto built from plain
// values, queued once per idempotency key, and the gateway's reports read back into plain values.
// The rest of the feature never sees generated types.

export type RbdPayload = MessageInitShape<typeof CommandPayloadSchema>["kind"];

/** What the hub keeps of an RbdImageReport. */
export interface ObservedImage {
  pool: string;
  image: string;
  exists: boolean;
  sizeBytes: bigint;
  parent: { pool: string; image: string; snapshot: string } | null;
  snapshots: { name: string; sizeBytes: bigint; protected: boolean }[];
}

export interface ObservedPool {
  name: string;
  usedBytes: bigint;
  availableBytes: bigint;
  objectCount: bigint;
}

export interface ClusterAccess {
  monHosts: string[];
  authUser: string;
  secretUuid: string;
}

/** Where one step stands: still with the gateway, done (with its report), or failed with a reason. */
export type GatewayStep =
  | { kind: "waiting"; command: AgentCommand }
  | { kind: "done"; command: AgentCommand; image: ObservedImage | undefined }
  | { kind: "failed"; command: AgentCommand; error: string };

const bytes = (gb: number) => BigInt(gb) * GIB;

export const rbdPayloads = {
  createImage: (pool: string, image: string, sizeGb: number): RbdPayload => ({
    case: "createRbdImage",
    value: { image: { pool, image }, sizeBytes: bytes(sizeGb) },
  }),
  resizeImage: (pool: string, image: string, sizeGb: number): RbdPayload => ({
    case: "resizeRbdImage",
    value: { image: { pool, image }, sizeBytes: bytes(sizeGb) },
  }),
  removeImage: (pool: string, image: string): RbdPayload => ({
    case: "removeRbdImage",
    value: { image: { pool, image }, removeSnapshots: true },
  }),
  createSnapshot: (pool: string, image: string, snapshot: string): RbdPayload => ({
    case: "createRbdSnapshot",
    value: { snapshot: { pool, image, snapshot } },
  }),
  protectSnapshot: (pool: string, image: string, snapshot: string): RbdPayload => ({
    case: "protectRbdSnapshot",
    value: { snapshot: { pool, image, snapshot } },
  }),
  unprotectSnapshot: (pool: string, image: string, snapshot: string): RbdPayload => ({
    case: "unprotectRbdSnapshot",
    value: { snapshot: { pool, image, snapshot } },
  }),
  removeSnapshot: (pool: string, image: string, snapshot: string): RbdPayload => ({
    case: "removeRbdSnapshot",
    value: { snapshot: { pool, image, snapshot } },
  }),
  cloneImage: (parent: { pool: string; image: string; snapshot: string }, child: { pool: string; image: string }) =>
    ({ case: "cloneRbdImage", value: { parent, child } }) as RbdPayload,
  listPools: (): RbdPayload => ({ case: "listRbdPools", value: {} }),
};

/** Queues a command for the gateway (once per key) and wakes the hub holding its stream. */
export async function enqueueGatewayCommand(
  trx: Knex.Transaction,
  c: { agentId: string; key: string; payload: RbdPayload; deadline: Date; at: Date },
): Promise<AgentCommand> {
  const { kind, json } = payloadToStore("payload", create(CommandPayloadSchema, { kind: c.payload }));
  const { command, created } = await createCommand(trx, {
    agentId: c.agentId,
    kind,
    payload: json,
    deadline: c.deadline,
    idempotencyKey: c.key,
    createdBy: null,
    now: c.at,
  });
  if (created) await notifyFleet(trx, { t: "commands", agentId: c.agentId });
  return command;
}

/** The RbdImageReport of a finished command, if it carries one. */
export function imageOfCommand(c: Pick<AgentCommand, "result">): ObservedImage | undefined {
  const result = resultFromStore(c.result);
  if (result?.kind.case !== "rbdImage") return undefined;
  const r = result.kind.value;
  return {
    pool: r.pool,
    image: r.image,
    exists: r.exists,
    sizeBytes: r.sizeBytes,
    parent: r.parentImage ? { pool: r.parentPool, image: r.parentImage, snapshot: r.parentSnapshot } : null,
    snapshots: r.snapshots.map((s) => ({ name: s.name, sizeBytes: s.sizeBytes, protected: s.protected })),
  };
}

/** The pools and cluster access of a finished list_rbd_pools command. */
export function poolsOfCommand(
  c: Pick<AgentCommand, "result">,
): { pools: ObservedPool[]; cluster: ClusterAccess | null } | undefined {
  const result = resultFromStore(c.result);
  if (result?.kind.case !== "rbdPools") return undefined;
  const r = result.kind.value;
  return {
    pools: r.pools.map((p) => ({
      name: p.name,
      usedBytes: p.usedBytes,
      availableBytes: p.availableBytes,
      objectCount: p.objectCount,
    })),
    cluster: r.cluster
      ? { monHosts: [...r.cluster.monHosts], authUser: r.cluster.authUser, secretUuid: r.cluster.secretUuid }
      : null,
  };
}

/** Why a command did not succeed, in words an operator can act on (an offline gateway says so). */
export async function failureOf(knex: Knex, c: AgentCommand): Promise<string> {
  if (c.state !== "expired") return c.error ? c.error : `the command was ${c.state}`;
  const agent = (await knex("agents").where({ id: c.agentId }).first("status", "hostname")) as
    { status: string; hostname: string } | undefined;
  const where = agent ? `ceph_gateway ${agent.hostname} (agent ${c.agentId}, ${agent.status})` : `agent ${c.agentId}`;
  return `${where} did not finish ${c.kind} before its deadline${agent && agent.status !== "connected" ? ": the gateway is not connected" : ""}`;
}

/** One step of a disk or snapshot operation: queued once per key, then read back. */
export async function runGatewayStep(
  trx: Knex.Transaction,
  c: { agentId: string; key: string; payload: () => RbdPayload; deadline: Date; at: Date },
): Promise<GatewayStep> {
  const command = await enqueueGatewayCommand(trx, { ...c, payload: c.payload() });
  if (!isFinal(command.state)) return { kind: "waiting", command };
  if (command.state === "succeeded") return { kind: "done", command, image: imageOfCommand(command) };
  return { kind: "failed", command, error: await failureOf(trx, command) };
}

/** Whole GiB of a reported size (images are created in whole GiB). */
export function gbOf(sizeBytes: bigint): number {
  return Number(sizeBytes / GIB);
}
