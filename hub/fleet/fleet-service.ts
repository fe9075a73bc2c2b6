import { create } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import {
  AgentCommandSchema,
  AgentSchema,
  FleetService,
  JoinTokenSchema,
  MachineType as MachineTypePb,
  type Agent,
  type AgentCommand as AgentCommandMessage,
  type JoinToken as JoinTokenMessage,
} from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { inventoryToProto } from "../../lib/host-facts/host-facts-proto.js";
import { callerOf } from "../api/caller.js";
import { etagOf } from "../api/etag.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest } from "../api/page-token.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { getAgent, listAgents, type AgentRecord } from "./agent-store.js";
import { getCommand, listCommands, type AgentCommand } from "./command-store.js";
import { payloadFromStore, payloadToStore, resultFromStore } from "./command-wire.js";
import type { FleetAdmin } from "./fleet-admin.js";
import { AGENT_ROLE, AGENT_STATUS, COMMAND_STATE, MACHINE_TYPE, type MachineType } from "./fleet-enums.js";
import { getJoinToken, listJoinTokens, type JoinToken } from "./join-token-store.js";
import { SCHEDULING_POLICY } from "../infrastructure/infrastructure-enums.js";
import { computePoolMessage, edgeDataCenterMessage } from "../infrastructure/site-wire.js";

const ADMIN = rolesAllowed("admin");
const ADMIN_OR_OPERATOR = rolesAllowed("admin", "operator");

export const fleetServicePolicy: ServicePolicy<typeof FleetService> = {
  createEdgeDataCenter: ADMIN,
  createComputePool: ADMIN,
  createJoinToken: ADMIN,
  getJoinToken: ADMIN,
  listJoinTokens: ADMIN,
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

const ts = (d: Date | null): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);
const machineTypeOut = (m: MachineType | null) => (m ? MACHINE_TYPE.fromDb(m) : MachineTypePb.UNSPECIFIED);

function joinTokenMessage(t: JoinToken): JoinTokenMessage {
  return create(JoinTokenSchema, {
    id: t.id,
    role: AGENT_ROLE.fromDb(t.role),
    edgeDataCenterId: t.edgeDataCenterId ?? "",
    computePoolId: t.computePoolId ?? "",
    machineType: machineTypeOut(t.machineType),
    description: t.description,
    maxUses: t.maxUses,
    useCount: t.useCount,
    expireTime: ts(t.expiresAt),
    revokeTime: ts(t.revokedAt),
    createTime: ts(t.createdAt),
    etag: etagOf(t),
  });
}

function agentMessage(a: AgentRecord): Agent {
  return create(AgentSchema, {
    id: a.id,
    role: AGENT_ROLE.fromDb(a.role),
    hostname: a.hostname,
    status: AGENT_STATUS.fromDb(a.status),
    edgeDataCenterId: a.edgeDataCenterId ?? "",
    computePoolId: a.computePoolId ?? "",
    computeMachineId: a.computeMachineId ?? "",
    machineType: machineTypeOut(a.machineType),
    agentVersion: a.agentVersion,
    inventory: a.inventory ? inventoryToProto(a.inventory) : undefined,
    lastHeartbeatTime: ts(a.lastHeartbeatAt),
    hubId: a.hubId ?? "",
    certificateSerial: a.certificateSerial,
    createTime: ts(a.enrolledAt),
    updateTime: ts(a.updatedAt),
    revokeTime: ts(a.revokedAt),
    etag: etagOf(a),
  });
}

function commandMessage(c: AgentCommand): AgentCommandMessage {
  return create(AgentCommandSchema, {
    id: c.id,
    agentId: c.agentId,
    payload: payloadFromStore(c.payload),
    state: COMMAND_STATE.fromDb(c.state),
    result: resultFromStore(c.result),
    error: c.error ?? "",
    expireTime: ts(c.deadline),
    finishTime: ts(c.finishedAt),
    deliveryCount: c.deliveryCount,
    idempotencyKey: c.idempotencyKey ?? "",
    createTime: ts(c.createdAt),
    updateTime: ts(c.updatedAt),
    etag: etagOf(c),
  });
}

export function createFleetService(deps: FleetServiceDeps): ServiceImpl<typeof FleetService> {
  const { admin, knex } = deps;
  const caller = (ctx: Parameters<typeof callerOf>[0]) => callerOf(ctx, admin.clock);
  return {
    async createEdgeDataCenter(req, ctx) {
      const d = req.edgeDataCenter;
      return {
        edgeDataCenter: edgeDataCenterMessage(
          await admin.createEdgeDataCenter(caller(ctx), { name: d?.name ?? "", location: d?.location ?? "" }),
        ),
      };
    },
    async createComputePool(req, ctx) {
      const p = req.computePool;
      return {
        computePool: computePoolMessage(
          await admin.createComputePool(caller(ctx), {
            name: p?.name ?? "",
            description: p?.description ?? "",
            edgeDataCenterId: optionalId("compute_pool.edge_data_center_id", p?.edgeDataCenterId ?? ""),
            schedulingPolicy:
              SCHEDULING_POLICY.toDbFilter("compute_pool.scheduling_policy", p?.schedulingPolicy ?? 0) ??
              "load_balance",
          }),
        ),
      };
    },
    async createJoinToken(req, ctx) {
      const t = await admin.createJoinToken(caller(ctx), {
        role: AGENT_ROLE.toDb("role", req.role),
        edgeDataCenterId: requireId("edge_data_center_id", req.edgeDataCenterId),
        computePoolId: optionalId("compute_pool_id", req.computePoolId),
        machineType: MACHINE_TYPE.toDbFilter("machine_type", req.machineType),
        ttlSeconds: req.ttlSeconds || 24 * 3600,
        maxUses: req.maxUses || 1,
        description: req.description,
      });
      return { joinToken: joinTokenMessage(t.joinToken), token: t.token, caFingerprintSha256: deps.caFingerprint };
    },
    async getJoinToken(req) {
      return { joinToken: joinTokenMessage(await getJoinToken(knex, requireId("id", req.id))) };
    },
    async listJoinTokens(req) {
      const page = await listJoinTokens(knex, parsePageRequest(req.pageSize, req.pageToken, 1));
      return { joinTokens: page.items.map(joinTokenMessage), nextPageToken: page.nextPageToken };
    },
    async revokeJoinToken(req, ctx) {
      return { joinToken: joinTokenMessage(await admin.revokeJoinToken(caller(ctx), requireId("id", req.id))) };
    },
    async listAgents(req) {
      const filter = {
        role: AGENT_ROLE.toDbFilter("role", req.role),
        status: AGENT_STATUS.toDbFilter("status", req.status),
      };
      const page = await listAgents(knex, filter, parsePageRequest(req.pageSize, req.pageToken, 1));
      return { agents: page.items.map(agentMessage), nextPageToken: page.nextPageToken };
    },
    async getAgent(req) {
      return { agent: agentMessage(await getAgent(knex, requireId("id", req.id))) };
    },
    async revokeAgent(req, ctx) {
      return { agent: agentMessage(await admin.revokeAgent(caller(ctx), requireId("id", req.id), req.reason)) };
    },
    async runDiagnostic(req, ctx) {
      const agentId = requireId("agent_id", req.agentId);
      const { kind, json } = payloadToStore("payload", req.payload);
      const c = await admin.runDiagnostic(caller(ctx), {
        agentId,
        kind,
        payload: json,
        deadlineSeconds: req.deadlineSeconds,
        idempotencyKey: req.idempotencyKey,
      });
      return { command: commandMessage(c) };
    },
    async getCommand(req) {
      return { command: commandMessage(await getCommand(knex, requireId("id", req.id))) };
    },
    async listCommands(req) {
      const filter = {
        agentId: optionalId("agent_id", req.agentId),
        state: COMMAND_STATE.toDbFilter("state", req.state),
      };
      const page = await listCommands(knex, filter, parsePageRequest(req.pageSize, req.pageToken, 2));
      return { commands: page.items.map(commandMessage), nextPageToken: page.nextPageToken };
    },
    async cancelCommand(req, ctx) {
      return { command: commandMessage(await admin.cancelCommand(caller(ctx), requireId("id", req.id), req.reason)) };
    },
  };
}
