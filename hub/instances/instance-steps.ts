import type { Knex } from "knex";
import { cancelCommand, type AgentCommand } from "../fleet/command-store.js";
import { isFinal } from "../fleet/command-lifecycle.js";
import { notifyFleet } from "../fleet/fleet-notifier.js";
import type { Instance, VirtualMachine } from "./instance.js";
import {
  enqueueDomainCommand,
  reportOfCommand,
  type DomainPayload,
  type ObservedDomain,
} from "./compute-agent-link.js";

/** Where one step of an operation stands: still with the agent, done (with its report), or failed. */
export type StepOutcome =
  | { kind: "waiting"; command: AgentCommand }
  | { kind: "done"; command: AgentCommand; report: ObservedDomain | undefined }
  | { kind: "failed"; command: AgentCommand; error: string };

/**
 * One step (`define`, `start`, `shutdown`, …) of the instance's current operation: queued once per
 * (VM, operation, step) — the idempotency key — so a repeated pass, or another hub after a crash,
 * finds the same command and never defines a domain twice.
 */
export async function runStep(
  trx: Knex.Transaction,
  i: Instance,
  vm: VirtualMachine,
  step: string,
  payload: () => Promise<DomainPayload> | DomainPayload,
  deadline: Date,
  at: Date,
): Promise<StepOutcome> {
  const command = await enqueueDomainCommand(trx, {
    machineId: vm.computeMachineId,
    vmId: vm.id,
    step: `${i.operationId ?? "none"}:${step}`,
    payload: await payload(),
    deadline,
    at,
  });
  if (!isFinal(command.state)) return { kind: "waiting", command };
  if (command.state === "succeeded") return { kind: "done", command, report: reportOfCommand(command) };
  const why = command.state === "expired" ? "its deadline passed before the agent finished it" : command.state;
  return { kind: "failed", command, error: command.error ? `${command.error}` : why };
}

/**
 * Cancels the unfinished commands of a VM's earlier operations (a define still queued when a stop
 * arrives must never run after it). Agents holding one are told, like FleetService's CancelCommand.
 */
export async function cancelStaleSteps(
  trx: Knex.Transaction,
  vm: Pick<VirtualMachine, "id" | "computeMachineId">,
  operationId: string | null,
  at: Date,
) {
  const vmId = vm.id;
  // By agent first: (agent_id, idempotency_key) is indexed, so this reads only that agent's keyed commands.
  const machine = (await trx("compute_machines").where({ id: vm.computeMachineId }).first("agent_id")) as
    { agent_id: string | null } | undefined;
  if (!machine?.agent_id) return;
  const rows = (await trx("agent_commands")
    .where({ agent_id: machine.agent_id })
    .where("idempotency_key", "like", `vm:${vmId}:%`)
    .whereIn("state", ["queued", "delivered", "running"])
    .select("id", "idempotency_key")) as { id: string; idempotency_key: string }[];
  for (const r of rows) {
    if (operationId && r.idempotency_key.startsWith(`vm:${vmId}:${operationId}:`)) continue;
    // Clean-ups of domains left elsewhere must run whatever happens next; a console password is no
    // step of any operation (a reconcile pass woken meanwhile must not cancel a ticket being issued).
    if (/:(retire|cleanup|console):/.test(r.idempotency_key)) continue;
    const { command, reachedAgent } = await cancelCommand(trx, r.id, "superseded by a newer operation", at);
    if (reachedAgent)
      await notifyFleet(trx, { t: "cancel", agentId: command.agentId, commandId: r.id, reason: "superseded" });
  }
}
