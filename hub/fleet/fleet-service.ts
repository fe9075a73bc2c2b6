import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import { AgentCommandSchema, AgentSchema, FleetService, type Agent, type AgentCommand as AgentCommandMessage } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { principalOf, requestIdOf } from "../api/request-context.js";
import { getAgent, listAgents, type AgentRecord } from "./agent-store.js";
import { getCommand, listCommands, type AgentCommand } from "./command-store.js";
import type { Actor, FleetAdmin } from "./fleet-admin.js";

const ADMIN = rolesAllowed("admin");
const ADMIN_OR_OPERATOR = rolesAllowed("admin", "operator");

export const fleetServicePolicy: ServicePolicy<typeof FleetService> = {
  createEdgeDataCenter: ADMIN,
  createComputePool: ADMIN,
  createJoinToken: ADMIN,
  revokeJoinToken: ADMIN,
  listAgents: ADMIN_OR_OPERATOR,
  getAgent: ADMIN_OR_OPERATOR,
  revokeAgent: ADMIN,
  runDiagnostic: ADMIN_OR_OPERATOR,
  getCommand: ADMIN_OR_OPERATOR,
  listCommands: ADMIN_OR_OPERATOR,
  cancelCommand: ADMIN_OR_OPERATOR,
};

export interface FleetServiceDeps {
  knex: Knex;
  admin: FleetAdmin;
  caFingerprint: string;
}

function actorOf(ctx: HandlerContext): Actor {
  return { principal: principalOf(ctx), requestId: requestIdOf(ctx) };
}

const ts = (d: Date | null) => (d ? timestampFromDate(d) : undefined);

function agentMessage(a: AgentRecord): Agent {
  return create(AgentSchema, {
    agentId: a.id, role: a.role, hostname: a.hostname, status: a.status, edgeDataCenterId: a.edgeDataCenterId ?? "", computePoolId: a.computePoolId ?? "",
    computeMachineId: a.computeMachineId ?? "", agentVersion: a.agentVersion, inventoryJson: a.inventory ? JSON.stringify(a.inventory) : "",
    lastHeartbeatAt: ts(a.lastHeartbeatAt), enrolledAt: ts(a.enrolledAt), hubId: a.hubId ?? "", certificateSerial: a.certificateSerial,
  });
}

function commandMessage(c: AgentCommand): AgentCommandMessage {
  return create(AgentCommandSchema, {
    commandId: c.id, agentId: c.agentId, kind: c.kind, payloadJson: JSON.stringify(c.payload ?? {}), state: c.state,
    resultJson: c.result === null || c.result === undefined ? "" : JSON.stringify(c.result), error: c.error ?? "",
    createdAt: ts(c.createdAt), deadline: ts(c.deadline), finishedAt: ts(c.finishedAt), deliveryCount: c.deliveryCount, idempotencyKey: c.idempotencyKey ?? "",
  });
}

export function createFleetService(deps: FleetServiceDeps): ServiceImpl<typeof FleetService> {
  const { admin, knex } = deps;
  return {
    async createEdgeDataCenter(req, ctx) {
      return { edgeDataCenterId: await admin.createEdgeDataCenter(actorOf(ctx), { name: req.name, location: req.location }) };
    },
    async createComputePool(req, ctx) {
      return { computePoolId: await admin.createComputePool(actorOf(ctx), { name: req.name, description: req.description }) };
    },
    async createJoinToken(req, ctx) {
      const t = await admin.createJoinToken(actorOf(ctx), {
        role: req.role, edgeDataCenterId: req.edgeDataCenterId, computePoolId: req.computePoolId || undefined, machineType: req.machineType || undefined,
        ttlSeconds: req.ttlSeconds || 24 * 3600, maxUses: req.maxUses || 1, description: req.description,
      });
      return { joinTokenId: t.id, token: t.token, expiresAt: timestampFromDate(t.expiresAt), caFingerprintSha256: deps.caFingerprint };
    },
    async revokeJoinToken(req, ctx) {
      await admin.revokeJoinToken(actorOf(ctx), req.joinTokenId);
      return {};
    },
    async listAgents(req) {
      const page = await listAgents(knex, { role: req.role, status: req.status, pageSize: req.pageSize, pageToken: req.pageToken });
      return { agents: page.items.map(agentMessage), nextPageToken: page.nextPageToken };
    },
    async getAgent(req) {
      return { agent: agentMessage(await getAgent(knex, req.agentId)) };
    },
    async revokeAgent(req, ctx) {
      await admin.revokeAgent(actorOf(ctx), req.agentId, req.reason);
      return {};
    },
    async runDiagnostic(req, ctx) {
      const c = await admin.runDiagnostic(actorOf(ctx), { agentId: req.agentId, kind: req.kind, payloadJson: req.payloadJson, deadlineSeconds: req.deadlineSeconds, idempotencyKey: req.idempotencyKey });
      return { command: commandMessage(c) };
    },
    async getCommand(req) {
      return { command: commandMessage(await getCommand(knex, req.commandId)) };
    },
    async listCommands(req) {
      const limit = Math.min(req.limit || 100, 1000);
      return { commands: (await listCommands(knex, { agentId: req.agentId || undefined, state: req.state || undefined, limit })).map(commandMessage) };
    },
    async cancelCommand(req, ctx) {
      return { command: commandMessage(await admin.cancelCommand(actorOf(ctx), req.commandId, req.reason)) };
    },
  };
}
