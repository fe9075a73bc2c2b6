import { create } from "@bufbuild/protobuf";
import type { Knex } from "knex";
import { CommandPayloadSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { newId } from "../db/ids.js";
import { FailedPreconditionError } from "../domain/errors.js";
import { createCommand, type AgentCommand } from "../fleet/command-store.js";
import { payloadToStore, resultFromStore } from "../fleet/command-wire.js";
import { notifyFleet } from "../fleet/fleet-notifier.js";
import { agentOfMachine } from "../instances/compute-agent-link.js";
import { domainNameOf } from "../instances/instance.js";
import type { AttachableDisk, DiskAttachment } from "./disk-attachment.js";

// The attachments feature's link to compute agents: rbd.proto's attach_disk / detach_disk built from
// an attachment and its disk, and AttachedDiskReport read back. The only file here that sees gen/.

/** How long an attach/detach may wait for the agent before the attachment fails readably. */
export const ATTACHMENT_COMMAND_TTL_MS = 10 * 60 * 1000;

/** Where the instance runs now: its machine and VM (domain edgehub-<vm>). */
export interface RunningPlace {
  computeMachineId: string;
  virtualMachineId: string;
}

/** How compute hosts reach the disk's cluster: the ceph_gateway of the disk's storage pool (hub/disks). */
export async function clusterAccessOf(knex: Knex, disk: AttachableDisk) {
  const row = (await knex("storage_pools as p")
    .join("ceph_gateways as g", "g.agent_id", "p.agent_id")
    .where("p.id", disk.storagePoolId)
    .first("g.mon_hosts", "g.auth_user", "g.secret_uuid")) as
    { mon_hosts: string[] | string; auth_user: string; secret_uuid: string } | undefined;
  const monHosts = Array.isArray(row?.mon_hosts) ? row.mon_hosts : parsePgArray(row?.mon_hosts ?? "{}");
  if (!row || monHosts.length === 0)
    throw new FailedPreconditionError(
      `Cannot attach disk ${disk.id}: its storage pool's Ceph gateway has not reported how to reach the cluster (mon hosts)`,
      { reason: "CLUSTER_ACCESS_UNKNOWN", metadata: { disk_id: disk.id, storage_pool_id: disk.storagePoolId } },
    );
  return { monHosts, authUser: row.auth_user, secretUuid: row.secret_uuid };
}

function parsePgArray(text: string): string[] {
  const inner = text.replace(/^\{|\}$/g, "");
  return inner === "" ? [] : inner.split(",").map((s) => s.replace(/^"|"$/g, ""));
}

async function enqueue(
  trx: Knex.Transaction,
  machineId: string,
  payload: NonNullable<Parameters<typeof create<typeof CommandPayloadSchema>>[1]>["kind"],
  key: string,
  at: Date,
  createdBy: string | null,
): Promise<AgentCommand> {
  const agentId = await agentOfMachine(trx, machineId);
  const { kind, json } = payloadToStore("payload", create(CommandPayloadSchema, { kind: payload }));
  const { command, created } = await createCommand(trx, {
    agentId,
    kind,
    payload: json,
    deadline: new Date(at.getTime() + ATTACHMENT_COMMAND_TTL_MS),
    idempotencyKey: key,
    createdBy,
    now: at,
  });
  if (created) await notifyFleet(trx, { t: "commands", agentId });
  return command;
}

/** Queues attach_disk for the running domain (live) and its definition. */
export async function queueAttach(
  trx: Knex.Transaction,
  a: Pick<DiskAttachment, "id" | "targetDev" | "mountMode" | "shareMode">,
  disk: AttachableDisk,
  place: RunningPlace,
  at: Date,
  createdBy: string | null,
): Promise<AgentCommand> {
  const cluster = await clusterAccessOf(trx, disk);
  return enqueue(
    trx,
    place.computeMachineId,
    {
      case: "attachDisk",
      value: {
        domainName: domainNameOf(place.virtualMachineId),
        image: { pool: disk.rbdPool, image: disk.rbdImageName },
        cluster,
        targetDev: a.targetDev,
        readOnly: a.mountMode === "ro",
        shareable: a.shareMode === "shared",
        live: true,
      },
    },
    `disk-attachment:${a.id}:attach:${newId()}`,
    at,
    createdBy,
  );
}

/** Queues detach_disk from the running domain and its definition. */
export async function queueDetach(
  trx: Knex.Transaction,
  a: Pick<DiskAttachment, "id" | "targetDev">,
  place: RunningPlace,
  at: Date,
  createdBy: string | null,
): Promise<AgentCommand> {
  return enqueue(
    trx,
    place.computeMachineId,
    {
      case: "detachDisk",
      value: { domainName: domainNameOf(place.virtualMachineId), targetDev: a.targetDev, live: true },
    },
    `disk-attachment:${a.id}:detach:${newId()}`,
    at,
    createdBy,
  );
}

/** The agent's view after attach/detach: is the device in the domain, and in the running one. */
export function attachedDiskOf(c: AgentCommand): { attached: boolean; live: boolean } | undefined {
  const r = resultFromStore(c.result);
  return r?.kind.case === "attachedDisk" ? { attached: r.kind.value.attached, live: r.kind.value.live } : undefined;
}
