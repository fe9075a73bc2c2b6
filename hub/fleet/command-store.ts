import type { Knex } from "knex";
import { whereUuidIn } from "../db/uuid-array.js";
import { newId } from "../db/ids.js";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { isUuid, requireId } from "../api/resource-id.js";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { FINAL_STATES, isFinal, PENDING_STATES, statesAllowing, type CommandState } from "./command-lifecycle.js";
import type { ReportState } from "./fleet-enums.js";

/**
 * A durable command. `payload` and `result` are the JSON forms (protobuf JSON) of the wire's
 * CommandPayload and CommandResult: the store keeps them as jsonb, the edges convert.
 */
export interface AgentCommand {
  id: string;
  agentId: string;
  /** The payload's case, e.g. "echo" or "collect_inventory" (metrics label it by this). */
  kind: string;
  payload: unknown;
  state: CommandState;
  idempotencyKey: string | null;
  deadline: Date;
  deliveryCount: number;
  result: unknown;
  error: string | null;
  createdAt: Date;
  /** The last state change. */
  updatedAt: Date;
  finishedAt: Date | null;
}

interface CommandRow {
  id: string;
  agent_id: string;
  kind: string;
  payload: unknown;
  state: CommandState;
  idempotency_key: string | null;
  deadline: Date;
  delivery_count: number;
  result: unknown;
  error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
}

const COLUMNS = [
  "id",
  "agent_id",
  "kind",
  "payload",
  "state",
  "idempotency_key",
  "deadline",
  "delivery_count",
  "result",
  "error",
  "created_at",
  "delivered_at",
  "started_at",
  "finished_at",
];

const latest = (...dates: (Date | null)[]): Date =>
  new Date(Math.max(...dates.filter((d): d is Date => d !== null).map((d) => new Date(d).getTime())));

function toCommand(r: CommandRow): AgentCommand {
  return {
    id: r.id,
    agentId: r.agent_id,
    kind: r.kind,
    payload: r.payload,
    state: r.state,
    idempotencyKey: r.idempotency_key,
    deadline: new Date(r.deadline),
    deliveryCount: r.delivery_count,
    result: r.result,
    error: r.error,
    createdAt: new Date(r.created_at),
    updatedAt: latest(r.created_at, r.delivered_at, r.started_at, r.finished_at),
    finishedAt: r.finished_at ? new Date(r.finished_at) : null,
  };
}

export interface CreateCommandInput {
  agentId: string;
  kind: string;
  payload: unknown;
  deadline: Date;
  idempotencyKey: string | null;
  createdBy: string | null;
  now: Date;
}

/** Queues a command; with an idempotency key already used for this agent, returns that command instead. */
export async function createCommand(
  trx: Knex.Transaction,
  input: CreateCommandInput,
): Promise<{ command: AgentCommand; created: boolean }> {
  if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(input.kind))
    throw new InvalidArgumentError("kind", "must be a lower-case executor name such as echo");
  if (input.idempotencyKey !== null) {
    const existing = await trx("agent_commands")
      .where({ agent_id: input.agentId, idempotency_key: input.idempotencyKey })
      .first<CommandRow | undefined>(COLUMNS);
    if (existing) return { command: toCommand(existing), created: false };
  }
  const [row] = await trx("agent_commands")
    .insert({
      id: newId(),
      agent_id: input.agentId,
      kind: input.kind,
      payload: JSON.stringify(input.payload ?? {}),
      state: "queued",
      idempotency_key: input.idempotencyKey,
      deadline: input.deadline,
      created_at: input.now,
      created_by: input.createdBy,
    })
    .returning<CommandRow[]>(COLUMNS);
  return { command: toCommand(row!), created: true };
}

/** Unfinished commands of an agent, oldest first; `queuedOnly` for the incremental pump after a NOTIFY. */
export async function pendingCommands(
  knex: Knex,
  agentId: string,
  now: Date,
  queuedOnly: boolean,
  limit = 5000,
): Promise<AgentCommand[]> {
  const rows = await knex("agent_commands")
    .where({ agent_id: agentId })
    .whereIn("state", queuedOnly ? ["queued"] : [...PENDING_STATES])
    .where("deadline", ">", now)
    .orderBy([{ column: "created_at" }, { column: "id" }])
    .limit(limit)
    .select<CommandRow[]>(COLUMNS);
  return rows.map(toCommand);
}

/** Which of these agents have unfinished commands (a just-welcomed batch: only those are pumped). */
export async function agentsWithPendingCommands(
  knex: Knex,
  agentIds: readonly string[],
  now: Date,
): Promise<Set<string>> {
  if (agentIds.length === 0) return new Set();
  const rows = await whereUuidIn(knex("agent_commands"), "agent_id", agentIds)
    .whereIn("state", [...PENDING_STATES])
    .where("deadline", ">", now)
    .distinct<{ agent_id: string }[]>("agent_id");
  return new Set(rows.map((r) => r.agent_id));
}

/** Records that commands went out on a stream (a re-delivery keeps its state, counts the delivery). */
export async function markDelivered(knex: Knex, ids: readonly string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await knex("agent_commands")
    .whereIn("id", ids)
    .whereIn("state", [...PENDING_STATES])
    .update({
      state: knex.raw("CASE WHEN state = 'queued' THEN 'delivered' ELSE state END"),
      delivery_count: knex.raw("delivery_count + 1"),
      delivered_at: now,
    });
}

export interface AgentReport {
  state: ReportState;
  result: unknown;
  error: string | null;
}

export type ReportOutcome =
  { kind: "applied"; command: AgentCommand } | { kind: "ignored"; command: AgentCommand } | { kind: "unknown" };

/** Applies an agent's report with a guarded update; a report for a finished command is ignored, one for a command the agent was never given is "unknown". */
export async function applyAgentReport(
  knex: Knex,
  agentId: string,
  commandId: string,
  report: AgentReport,
  now: Date,
): Promise<ReportOutcome> {
  if (!isUuid(commandId)) return { kind: "unknown" };
  const final = isFinal(report.state);
  const [row] = await knex("agent_commands")
    .where({ id: commandId, agent_id: agentId })
    .whereIn(
      "state",
      statesAllowing(report.state).filter((s) => s !== "queued"),
    )
    .update({
      // An agent that gave up at the deadline reports cancelled or failed; the hub's word for it is expired.
      state:
        report.state === "failed" || report.state === "cancelled"
          ? knex.raw("CASE WHEN deadline <= ? THEN 'expired' ELSE ? END", [now, report.state])
          : report.state,
      ...(report.state === "running" ? { started_at: now } : {}),
      ...(final
        ? {
            finished_at: now,
            result: report.result === undefined ? null : JSON.stringify(report.result),
            error: report.error,
          }
        : {}),
    })
    .returning<CommandRow[]>(COLUMNS);
  if (row) return { kind: "applied", command: toCommand(row) };
  const existing = await knex("agent_commands")
    .where({ id: commandId, agent_id: agentId })
    .first<CommandRow | undefined>(COLUMNS);
  if (!existing || existing.state === "queued") return { kind: "unknown" };
  return { kind: "ignored", command: toCommand(existing) };
}

/**
 * Cancels a queued, delivered or running command; returns it and whether an agent may hold it.
 * A cancelled command is returned as it is; one that finished otherwise is COMMAND_FINISHED.
 */
export async function cancelCommand(
  trx: Knex.Transaction,
  commandId: string,
  reason: string,
  now: Date,
): Promise<{ command: AgentCommand; reachedAgent: boolean }> {
  const current = await getCommand(trx, commandId, true);
  if (current.state === "cancelled") return { command: current, reachedAgent: false };
  if (isFinal(current.state)) {
    throw new FailedPreconditionError(
      `Cannot cancel command ${commandId}: it already ${current.state === "expired" ? "expired" : current.state}`,
      {
        reason: "COMMAND_FINISHED",
        metadata: { state: current.state },
      },
    );
  }
  const [row] = await trx("agent_commands")
    .where({ id: commandId })
    .whereIn("state", statesAllowing("cancelled"))
    .update({ state: "cancelled", finished_at: now, error: reason })
    .returning<CommandRow[]>(COLUMNS);
  return { command: toCommand(row!), reachedAgent: current.state !== "queued" };
}

/** Expires every unfinished command past its deadline; returns them so holders can tell their agents. */
export async function expireOverdue(
  trx: Knex.Transaction,
  now: Date,
  limit = 1000,
): Promise<{ id: string; agentId: string; reachedAgent: boolean; kind: string; createdAt: Date }[]> {
  const rows = await trx("agent_commands")
    .whereIn("state", [...PENDING_STATES])
    .where("deadline", "<=", now)
    .orderBy("deadline")
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .select<{ id: string; agent_id: string; state: CommandState; kind: string; created_at: Date }[]>(
      "id",
      "agent_id",
      "state",
      "kind",
      "created_at",
    );
  if (rows.length === 0) return [];
  await trx("agent_commands")
    .whereIn(
      "id",
      rows.map((r) => r.id),
    )
    .whereIn("state", statesAllowing("expired"))
    .update({ state: "expired", finished_at: now, error: "Deadline passed before the agent finished the command" });
  return rows.map((r) => ({
    id: r.id,
    agentId: r.agent_id,
    reachedAgent: r.state !== "queued",
    kind: r.kind,
    createdAt: new Date(r.created_at),
  }));
}

/** Deletes finished commands older than `before` (a bounded batch per call): the queue table stays small. */
export async function purgeFinished(trx: Knex.Transaction, before: Date, limit = 1000): Promise<number> {
  const old = trx("agent_commands")
    .whereIn("state", [...FINAL_STATES])
    .where("finished_at", "<", before)
    .limit(limit)
    .select("id");
  return (await trx("agent_commands").whereIn("id", old).delete().returning<{ id: string }[]>("id")).length;
}

/** `commandId` must be well-formed (the service checks it). */
export async function getCommand(knex: Knex, commandId: string, forUpdate = false): Promise<AgentCommand> {
  const q = knex("agent_commands").where({ id: commandId });
  const row = await (forUpdate ? q.forUpdate() : q).first<CommandRow | undefined>(COLUMNS);
  if (!row) throw new NotFoundError("command", commandId);
  return toCommand(row);
}

export interface CommandListQuery {
  agentId: string | null;
  state: CommandState | null;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listCommands(
  knex: Knex,
  filter: CommandListQuery,
  page: PageRequest,
): Promise<Page<AgentCommand>> {
  const q = knex("agent_commands")
    .select<CommandRow[]>(COLUMNS)
    .orderBy([
      { column: "created_at", order: "desc" },
      { column: "id", order: "desc" },
    ])
    .limit(page.pageSize + 1);
  if (filter.agentId) q.where({ agent_id: filter.agentId });
  if (filter.state) q.where({ state: filter.state });
  if (page.after) {
    const [at, id] = page.after as [string, string];
    const time = new Date(at);
    if (Number.isNaN(time.getTime()))
      throw new InvalidArgumentError("page_token", "is not a token returned by this list");
    q.whereRaw("(created_at, id) < (?, ?)", [time, requireId("page_token", id)]);
  }
  return pageOf((await q).map(toCommand), page, (c) => [c.createdAt.toISOString(), c.id]);
}
