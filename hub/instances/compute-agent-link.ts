import { randomBytes } from "node:crypto";
import { create, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Knex } from "knex";
import { CommandPayloadSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import {
  DomainState,
  GraphicsProtocol,
  ImageContentFormat,
  type DomainReport,
} from "../../gen/edgehub/common/v1/compute_pb.js";
import { FailedPreconditionError } from "../domain/errors.js";
import { createCommand, type AgentCommand } from "../fleet/command-store.js";
import { payloadToStore, resultFromStore } from "../fleet/command-wire.js";
import { notifyFleet } from "../fleet/fleet-notifier.js";
import { domainNameOf, type Instance, type VirtualMachine } from "./instance.js";

// The instances feature's link to compute agents: the commands of compute.proto built from domain
// objects, and the agent's DomainReports read back into plain values. The rest of the feature
// never sees generated types.

export type DomainPayload = MessageInitShape<typeof CommandPayloadSchema>["kind"];

/** What the hub keeps of a DomainReport. */
export interface ObservedDomain {
  name: string;
  uuid: string;
  state: "running" | "blocked" | "paused" | "shutdown" | "shutoff" | "crashed" | "pmsuspended" | "absent" | "unknown";
  graphicsProtocol: "vnc" | "spice" | "";
  graphicsHost: string;
  graphicsPort: number;
  instanceId: string;
}

const STATE: Record<DomainState, ObservedDomain["state"]> = {
  [DomainState.UNSPECIFIED]: "unknown",
  [DomainState.RUNNING]: "running",
  [DomainState.BLOCKED]: "blocked",
  [DomainState.PAUSED]: "paused",
  [DomainState.SHUTDOWN]: "shutdown",
  [DomainState.SHUTOFF]: "shutoff",
  [DomainState.CRASHED]: "crashed",
  [DomainState.PMSUSPENDED]: "pmsuspended",
  [DomainState.ABSENT]: "absent",
};

export function observedDomain(r: DomainReport): ObservedDomain {
  return {
    name: r.name,
    uuid: r.uuid,
    state: STATE[r.state] ?? "unknown",
    graphicsProtocol:
      r.graphicsProtocol === GraphicsProtocol.VNC
        ? "vnc"
        : r.graphicsProtocol === GraphicsProtocol.SPICE
          ? "spice"
          : "",
    graphicsHost: r.graphicsHost,
    graphicsPort: r.graphicsPort,
    instanceId: r.instanceId,
  };
}

/** The DomainReport of a finished command, if it carries one. */
export function reportOfCommand(c: AgentCommand): ObservedDomain | undefined {
  const result = resultFromStore(c.result);
  return result?.kind.case === "domain" ? observedDomain(result.kind.value) : undefined;
}

/** Every domain of a list_domains result. */
export function domainsOfCommand(c: AgentCommand): ObservedDomain[] {
  const result = resultFromStore(c.result);
  return result?.kind.case === "domains" ? result.kind.value.domains.map(observedDomain) : [];
}

/** A list_domains command's stored form (kind and payload JSON). */
export function listDomainsCommand(): { kind: string; json: JsonValue } {
  return payloadToStore("payload", create(CommandPayloadSchema, { kind: { case: "listDomains", value: {} } }));
}

/** The agent that reports for a compute machine; refused readably when the machine has none. */
export async function agentOfMachine(knex: Knex, machineId: string): Promise<string> {
  const row = (await knex("compute_machines").where({ id: machineId }).first("agent_id", "hostname")) as
    { agent_id: string | null; hostname: string } | undefined;
  if (!row?.agent_id)
    throw new FailedPreconditionError(`Cannot reach compute machine ${machineId}: no agent reports for it`, {
      reason: "MACHINE_HAS_NO_AGENT",
      metadata: { compute_machine_id: machineId },
    });
  return row.agent_id;
}

/** The idempotency key of one step of one VM's operation: a retried pass finds the same command. */
export function stepKey(vmId: string, step: string): string {
  return `vm:${vmId}:${step}`;
}

/** Queues a compute command for the machine's agent (once per key) and wakes the hub holding the agent. */
export async function enqueueDomainCommand(
  trx: Knex.Transaction,
  c: { machineId: string; vmId: string; step: string; payload: DomainPayload; deadline: Date; at: Date },
): Promise<AgentCommand> {
  const agentId = await agentOfMachine(trx, c.machineId);
  const { kind, json } = payloadToStore("payload", create(CommandPayloadSchema, { kind: c.payload }));
  const { command, created } = await createCommand(trx, {
    agentId,
    kind,
    payload: json,
    deadline: c.deadline,
    idempotencyKey: stepKey(c.vmId, c.step),
    createdBy: null,
    now: c.at,
  });
  if (created) await notifyFleet(trx, { t: "commands", agentId });
  return command;
}

/** An image version's bytes as the agent fetches them (helper B's content columns, when present). */
export async function imageContentRef(knex: Knex, imageVersionId: string) {
  const row = (await knex("image_versions").where({ id: imageVersionId }).first()) as Record<string, unknown>;
  const format = row.content_format === "raw" ? ImageContentFormat.RAW : ImageContentFormat.QCOW2;
  return {
    imageVersionId,
    sha256: (row.content_sha256 as string | null | undefined) ?? "",
    sizeBytes: BigInt((row.content_size_bytes as string | number | null | undefined) ?? 0),
    format: row.content_sha256 ? format : ImageContentFormat.UNSPECIFIED,
  };
}

/** define_domain for a VM: CPUs, memory, an overlay system disk, GPUs as hostdevs, VNC with no password yet. */
export async function defineDomainPayload(
  knex: Knex,
  i: Instance,
  vm: VirtualMachine,
  host: { graphicsListen: string; network: string },
): Promise<DomainPayload> {
  const gpus = ((vm.config.gpus as { pciAddress: string }[] | undefined) ?? []).map((g) => ({ address: g.pciAddress }));
  return {
    case: "defineDomain",
    value: {
      spec: {
        name: domainNameOf(vm.id),
        uuid: vm.id,
        vcpus: vm.cpuCores,
        memoryMib: BigInt(Math.round(vm.memoryGb * 1024)),
        systemDisk: { image: await imageContentRef(knex, i.imageVersionId), sizeGb: BigInt(Math.round(vm.storageGb)) },
        gpus,
        // A random password nobody is told: the console stays closed until a ticket sets one. VNC takes
        // at most 8 characters (libvirt refuses a longer one at define).
        graphics: {
          protocol: GraphicsProtocol.VNC,
          listen: host.graphicsListen,
          password: randomBytes(6).toString("base64url"),
        },
        network: host.network,
        instanceId: i.id,
      },
    },
  };
}

/** The commands that only name their domain. */
export function domainRef(
  kind: "startDomain" | "suspendDomain" | "resumeDomain" | "undefineDomain" | "destroyDomain",
  vmId: string,
): DomainPayload {
  return { case: kind, value: { name: domainNameOf(vmId) } } as DomainPayload;
}

/** ACPI shutdown; the agent destroys the domain when it is not off within `timeoutMs`. */
export function shutdownPayload(vmId: string, timeoutMs: number): DomainPayload {
  return { case: "shutdownDomain", value: { name: domainNameOf(vmId), timeoutMs } };
}

export function setGraphicsPasswordPayload(vmId: string, password: string, validUntil: Date): DomainPayload {
  return {
    case: "setGraphicsPassword",
    value: { name: domainNameOf(vmId), password, validUntil: timestampFromDate(validUntil) },
  };
}
