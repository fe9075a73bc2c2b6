import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { FailedPreconditionError } from "../domain/errors.js";
import { getCommand } from "../fleet/command-store.js";
import { isFinal } from "../fleet/command-lifecycle.js";
import { newId } from "../db/ids.js";
import { enqueueDomainCommand, reportOfCommand, setGraphicsPasswordPayload } from "./compute-agent-link.js";
import { getVisibleInstance } from "./instance-access.js";
import { recordInstanceEvent } from "./instance-events.js";
import { liveVmOf } from "./instance-store.js";

/** A console ticket lives at most this long (issue 10: ≤ 60 s). */
export const CONSOLE_TICKET_MS = 60_000;

export interface ConsoleTicket {
  protocol: "vnc" | "spice";
  host: string;
  port: number;
  password: string;
  expireTime: Date;
}

export interface ConsoleDeps {
  knex: Knex;
  /** How long to wait for the agent to set the password before answering unavailable. */
  waitMs: number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * CreateConsoleTicket (a running instance only): a fresh one-time password is set on the domain's graphics
 * by the agent (set_graphics_password, valid until now + 60 s), then returned with the endpoint the
 * agent reported. Audited without the password; the password is never logged.
 */
export async function issueConsoleTicket(deps: ConsoleDeps, caller: Caller, id: string): Promise<ConsoleTicket> {
  const i = await getVisibleInstance(deps.knex, caller.principal, id);
  const vm = await liveVmOf(deps.knex, id);
  if (i.status !== "running" || !vm || vm.status !== "running")
    throw new FailedPreconditionError(
      `Cannot open the console of instance ${id}: it is ${i.status}; only a running instance has one`,
      {
        reason: "INSTANCE_NOT_RUNNING",
        metadata: { instance_id: id, status: i.status },
      },
    );
  const password = randomBytes(6).toString("base64url"); // VNC uses at most 8 characters of a password
  const expireTime = new Date(caller.at.getTime() + CONSOLE_TICKET_MS);
  const command = await deps.knex.transaction(async (trx) => {
    const c = await enqueueDomainCommand(trx, {
      machineId: vm.computeMachineId,
      vmId: vm.id,
      step: `console:${newId()}`,
      payload: setGraphicsPasswordPayload(vm.id, password, expireTime),
      deadline: expireTime,
      at: caller.at,
    });
    await recordInstanceEvent(trx, {
      instanceId: id,
      kind: "console",
      message: `Console ticket issued to ${caller.principal.username}`,
      attributes: { expire_time: expireTime.toISOString() },
      at: caller.at,
    });
    await recordChange(trx, caller, {
      tenantId: i.tenantId,
      action: "instance.get_console",
      targetType: "instance",
      targetId: id,
      after: { expireTime },
    });
    return c;
  });
  let current = command;
  for (let waited = 0; !isFinal(current.state) && waited < deps.waitMs; waited += 100) {
    await deps.sleep(100);
    current = await getCommand(deps.knex, command.id);
  }
  if (current.state !== "succeeded")
    throw new FailedPreconditionError(
      `Cannot open the console of instance ${id}: the agent did not set the console password (${isFinal(current.state) ? (current.error ?? current.state) : "no answer in time"})`,
      { reason: "CONSOLE_UNAVAILABLE", metadata: { instance_id: id, command_id: command.id } },
    );
  const report = reportOfCommand(current);
  return {
    protocol: report?.graphicsProtocol === "spice" ? "spice" : "vnc",
    host: report?.graphicsHost || vm.graphicsHost,
    port: report?.graphicsPort || vm.graphicsPort,
    password,
    expireTime,
  };
}
