import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import { formatJoinToken } from "../../lib/join-token/join-token.js";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import type { HubCa } from "../pki/hub-ca.js";
import { getAgent, revokeAgent, type AgentRecord } from "./agent-store.js";
import { cancelCommand, createCommand, type AgentCommand } from "./command-store.js";
import { recordFleetEvents } from "./fleet-event-log.js";
import { notifyFleet } from "./fleet-notifier.js";
import { createJoinToken, revokeJoinToken, type CreateJoinTokenInput, type JoinToken } from "./join-token-store.js";
import {
  createComputePool,
  type ComputePoolRecord,
  type NewComputePool,
} from "../infrastructure/compute-pool-store.js";
import { createEdgeDataCenter, type EdgeDataCenterRecord } from "../infrastructure/edge-data-center-store.js";

export interface FleetAdminDeps {
  knex: Knex;
  clock: Clock;
  ca: HubCa;
}

const MAX_PAYLOAD_BYTES = 256 * 1024;
const MAX_DEADLINE_SECONDS = 7 * 24 * 3600;

export interface RunDiagnosticInput {
  agentId: string;
  /** The payload's case (executor name) and its protobuf JSON form. */
  kind: string;
  payload: unknown;
  deadlineSeconds: number;
  idempotencyKey: string;
}

/** The fleet's mutations for people and tools: each one transaction with its audit row and its NOTIFY. */
export class FleetAdmin {
  constructor(private readonly deps: FleetAdminDeps) {}

  get clock(): Clock {
    return this.deps.clock;
  }

  async createEdgeDataCenter(caller: Caller, input: { name: string; location: string }): Promise<EdgeDataCenterRecord> {
    return this.deps.knex.transaction(async (trx) => {
      const site = await createEdgeDataCenter(trx, caller, input);
      await recordChange(trx, caller, {
        tenantId: null,
        action: "edge_data_center.create",
        targetType: "edge_data_center",
        targetId: site.id,
        after: { name: site.name, location: input.location },
      });
      return site;
    });
  }

  async createComputePool(caller: Caller, input: NewComputePool): Promise<ComputePoolRecord> {
    return this.deps.knex.transaction(async (trx) => {
      const pool = await createComputePool(trx, caller, input);
      await recordChange(trx, caller, {
        tenantId: null,
        action: "compute_pool.create",
        targetType: "compute_pool",
        targetId: pool.id,
        after: pool,
      });
      return pool;
    });
  }

  async createJoinToken(
    caller: Caller,
    input: Omit<CreateJoinTokenInput, "createdBy" | "now">,
  ): Promise<{ joinToken: JoinToken; token: string }> {
    return this.deps.knex.transaction(async (trx) => {
      const created = await createJoinToken(trx, { ...input, createdBy: caller.principal.userId, now: caller.at });
      const t = created.token;
      // The audit row never holds the secret.
      await recordChange(trx, caller, {
        tenantId: null,
        action: "join_token.create",
        targetType: "join_token",
        targetId: t.id,
        after: {
          role: t.role,
          edgeDataCenterId: t.edgeDataCenterId,
          computePoolId: t.computePoolId,
          maxUses: t.maxUses,
          expiresAt: t.expiresAt,
        },
      });
      return {
        joinToken: t,
        token: formatJoinToken({ secret: created.secret, caFingerprint: this.deps.ca.fingerprint }),
      };
    });
  }

  async revokeJoinToken(caller: Caller, id: string): Promise<JoinToken> {
    return this.deps.knex.transaction(async (trx) => {
      const token = await revokeJoinToken(trx, id, caller.at);
      await recordChange(trx, caller, {
        tenantId: null,
        action: "join_token.revoke",
        targetType: "join_token",
        targetId: id,
      });
      return token;
    });
  }

  async revokeAgent(caller: Caller, agentId: string, reason: string): Promise<AgentRecord> {
    return this.deps.knex.transaction(async (trx) => {
      const { agent, changed } = await revokeAgent(trx, agentId, reason || "revoked by an administrator", caller.at);
      if (!changed) return agent;
      await recordFleetEvents(trx, [
        {
          agentId,
          kind: "agent_revoked",
          severity: "warning",
          message: `Agent revoked by ${caller.principal.username}: ${reason || "no reason given"}`,
          occurredAt: caller.at,
        },
      ]);
      await recordChange(trx, caller, {
        tenantId: null,
        action: "agent.revoke",
        targetType: "agent",
        targetId: agentId,
        after: { reason },
      });
      await notifyFleet(trx, { t: "revoke", agentId });
      return agent;
    });
  }

  async runDiagnostic(caller: Caller, input: RunDiagnosticInput): Promise<AgentCommand> {
    if (JSON.stringify(input.payload).length > MAX_PAYLOAD_BYTES)
      throw new InvalidArgumentError("payload", `must be at most ${MAX_PAYLOAD_BYTES} bytes as JSON`);
    const seconds = input.deadlineSeconds || 300;
    if (seconds > MAX_DEADLINE_SECONDS)
      throw new InvalidArgumentError("deadline_seconds", `must be at most ${MAX_DEADLINE_SECONDS} (7 days)`);
    if (input.idempotencyKey.length > 200)
      throw new InvalidArgumentError("idempotency_key", "must be at most 200 characters");
    return this.deps.knex.transaction(async (trx) => {
      const agent = await getAgent(trx, input.agentId);
      if (agent.status === "revoked") {
        throw new FailedPreconditionError(`Cannot run ${input.kind} on agent ${agent.id}: the agent is revoked`, {
          reason: "AGENT_REVOKED",
          metadata: { agent_id: agent.id },
        });
      }
      const { command, created } = await createCommand(trx, {
        agentId: agent.id,
        kind: input.kind,
        payload: input.payload,
        deadline: new Date(caller.at.getTime() + seconds * 1000),
        idempotencyKey: input.idempotencyKey || null,
        createdBy: caller.principal.userId,
        now: caller.at,
      });
      if (created) {
        await recordChange(trx, caller, {
          tenantId: null,
          action: "agent_command.create",
          targetType: "agent_command",
          targetId: command.id,
          after: { agentId: agent.id, kind: input.kind },
        });
        await notifyFleet(trx, { t: "commands", agentId: agent.id });
      }
      return command;
    });
  }

  async cancelCommand(caller: Caller, commandId: string, reason: string): Promise<AgentCommand> {
    return this.deps.knex.transaction(async (trx) => {
      const { command, reachedAgent } = await cancelCommand(
        trx,
        commandId,
        reason || "cancelled by an administrator",
        caller.at,
      );
      await recordChange(trx, caller, {
        tenantId: null,
        action: "agent_command.cancel",
        targetType: "agent_command",
        targetId: commandId,
        after: { reason },
      });
      if (reachedAgent)
        await notifyFleet(trx, { t: "cancel", agentId: command.agentId, commandId, reason: reason || "cancelled" });
      return command;
    });
  }
}
