import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { formatJoinToken } from "../../lib/join-token/join-token.js";
import { recordAudit } from "../audit/audit-writer.js";
import type { Principal } from "../api/principal.js";
import { newId } from "../db/ids.js";
import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import type { HubCa } from "../pki/hub-ca.js";
import { getAgent, revokeAgent } from "./agent-store.js";
import { cancelCommand, createCommand, type AgentCommand } from "./command-store.js";
import { recordFleetEvents } from "./fleet-event-log.js";
import { notifyFleet } from "./fleet-notifier.js";
import { createJoinToken, revokeJoinToken, type CreateJoinTokenInput } from "./join-token-store.js";

export interface FleetAdminDeps {
  knex: Knex;
  clock: Clock;
  ca: HubCa;
}

export interface Actor {
  principal: Principal;
  requestId: string;
}

const MAX_PAYLOAD_BYTES = 256 * 1024;

/** The fleet's mutations for people and tools: each one transaction with its audit row and its NOTIFY. */
export class FleetAdmin {
  constructor(private readonly deps: FleetAdminDeps) {}

  private audit(trx: Knex.Transaction, actor: Actor, action: string, targetType: string, targetId: string, after?: unknown) {
    return recordAudit(trx, { actor: actor.principal, tenantId: null, action, targetType, targetId, after, requestId: actor.requestId, at: this.deps.clock.now() });
  }

  async createEdgeDataCenter(actor: Actor, input: { name: string; location: string }): Promise<string> {
    const name = input.name.trim();
    if (!name || name.length > 128) throw new InvalidArgumentError("name", "must be 1 to 128 characters");
    return this.deps.knex.transaction(async (trx) => {
      const id = newId();
      const now = this.deps.clock.now();
      await trx("edge_data_centers").insert({ id, name, location: input.location, created_at: now, updated_at: now, created_by: actor.principal.userId, updated_by: actor.principal.userId });
      await this.audit(trx, actor, "edge_data_center.create", "edge_data_center", id, { name, location: input.location });
      return id;
    });
  }

  async createComputePool(actor: Actor, input: { name: string; description: string }): Promise<string> {
    const name = input.name.trim();
    if (!name || name.length > 128) throw new InvalidArgumentError("name", "must be 1 to 128 characters");
    return this.deps.knex.transaction(async (trx) => {
      const id = newId();
      const now = this.deps.clock.now();
      await trx("compute_pools").insert({ id, name, description: input.description, created_at: now, updated_at: now, created_by: actor.principal.userId, updated_by: actor.principal.userId });
      await this.audit(trx, actor, "compute_pool.create", "compute_pool", id, { name });
      return id;
    });
  }

  async createJoinToken(actor: Actor, input: Omit<CreateJoinTokenInput, "createdBy" | "now">): Promise<{ id: string; token: string; expiresAt: Date }> {
    return this.deps.knex.transaction(async (trx) => {
      const created = await createJoinToken(trx, { ...input, createdBy: actor.principal.userId, now: this.deps.clock.now() });
      // The audit row never holds the secret.
      await this.audit(trx, actor, "join_token.create", "join_token", created.id, { role: input.role, edgeDataCenterId: input.edgeDataCenterId, computePoolId: input.computePoolId, maxUses: input.maxUses, expiresAt: created.expiresAt });
      return { id: created.id, token: formatJoinToken({ secret: created.secret, caFingerprint: this.deps.ca.fingerprint }), expiresAt: created.expiresAt };
    });
  }

  async revokeJoinToken(actor: Actor, id: string): Promise<void> {
    await this.deps.knex.transaction(async (trx) => {
      await revokeJoinToken(trx, id, this.deps.clock.now());
      await this.audit(trx, actor, "join_token.revoke", "join_token", id);
    });
  }

  async revokeAgent(actor: Actor, agentId: string, reason: string): Promise<void> {
    await this.deps.knex.transaction(async (trx) => {
      await revokeAgent(trx, agentId, reason || "revoked by an administrator", this.deps.clock.now());
      await recordFleetEvents(trx, [{ agentId, kind: "agent_revoked", severity: "warning", message: `Agent revoked by ${actor.principal.username}: ${reason || "no reason given"}`, occurredAt: this.deps.clock.now() }]);
      await this.audit(trx, actor, "agent.revoke", "agent", agentId, { reason });
      await notifyFleet(trx, { t: "revoke", agentId });
    });
  }

  async runDiagnostic(actor: Actor, input: { agentId: string; kind: string; payloadJson: string; deadlineSeconds: number; idempotencyKey: string }): Promise<AgentCommand> {
    let payload: unknown = {};
    if (input.payloadJson) {
      if (input.payloadJson.length > MAX_PAYLOAD_BYTES) throw new InvalidArgumentError("payload_json", `must be at most ${MAX_PAYLOAD_BYTES} bytes`);
      try {
        payload = JSON.parse(input.payloadJson);
      } catch {
        throw new InvalidArgumentError("payload_json", "is not valid JSON");
      }
    }
    const seconds = input.deadlineSeconds || 300;
    if (seconds > 7 * 24 * 3600) throw new InvalidArgumentError("deadline_seconds", "must be at most 604800 (7 days)");
    if (input.idempotencyKey.length > 200) throw new InvalidArgumentError("idempotency_key", "must be at most 200 characters");
    return this.deps.knex.transaction(async (trx) => {
      const agent = await getAgent(trx, input.agentId);
      if (agent.status === "revoked") throw new FailedPreconditionError(`Cannot run ${input.kind} on agent ${agent.id}: the agent is revoked`);
      const now = this.deps.clock.now();
      const { command, created } = await createCommand(trx, {
        agentId: agent.id, kind: input.kind, payload, deadline: new Date(now.getTime() + seconds * 1000),
        idempotencyKey: input.idempotencyKey || null, createdBy: actor.principal.userId, now,
      });
      if (created) {
        await this.audit(trx, actor, "agent_command.create", "agent_command", command.id, { agentId: agent.id, kind: input.kind });
        await notifyFleet(trx, { t: "commands", agentId: agent.id });
      }
      return command;
    });
  }

  async cancelCommand(actor: Actor, commandId: string, reason: string): Promise<AgentCommand> {
    return this.deps.knex.transaction(async (trx) => {
      const { command, reachedAgent } = await cancelCommand(trx, commandId, reason || "cancelled by an administrator", this.deps.clock.now());
      await this.audit(trx, actor, "agent_command.cancel", "agent_command", commandId, { reason });
      if (reachedAgent) await notifyFleet(trx, { t: "cancel", agentId: command.agentId, commandId, reason: reason || "cancelled" });
      return command;
    });
  }
}
