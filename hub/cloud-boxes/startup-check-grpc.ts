import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  CloudBoxAgentService,
  StartupCheckResponseSchema,
  StartupVerdict,
  type StartupCheckRequest,
  type StartupCheckResponse,
} from "../../gen/edgehub/fleet/v1/cloud_box_pb.js";
import { GraphicsProtocol } from "../../gen/edgehub/common/v1/compute_pb.js";
import { DecodeFailure, grpcServiceDefinition } from "../../lib/grpc-protobuf/grpc-service-definition.js";
import { PermissionDeniedError, UnauthenticatedError } from "../domain/errors.js";
import type { AgentEndpointService } from "../fleet/agent-endpoint.js";
import { agentIdentityFromPeer, type CaSubject } from "../fleet/agent-identity.js";
import { grpcStatusOf } from "../fleet/grpc-status.js";
import type { CloudBox } from "./cloud-box.js";
import { cloudBoxOfAgent } from "./cloud-box-store.js";
import { startupCheck, type StartupAnswer, type StartupCheckDeps } from "./startup-check.js";

export interface CloudBoxAgentServiceDeps extends StartupCheckDeps {
  caSubject: CaSubject;
  log: Logger;
}

type UnaryCall = grpc.ServerUnaryCall<StartupCheckRequest | DecodeFailure, StartupCheckResponse>;

/** The box behind a call: its client certificate, an enrolled unrevoked cloud_box agent with that serial, its box row. */
async function callerBox(deps: CloudBoxAgentServiceDeps, call: UnaryCall): Promise<CloudBox> {
  const identity = agentIdentityFromPeer(call.getAuthContext().sslPeerCertificate, deps.caSubject, deps.clock.now());
  const agent = await deps.knex("agents").where({ id: identity.agentId }).first("status", "certificate_serial");
  if (!agent) throw new UnauthenticatedError(`Startup check refused: agent ${identity.agentId} is not enrolled`);
  if (agent.status === "revoked")
    throw new PermissionDeniedError(`Startup check refused: the certificate of agent ${identity.agentId} was revoked`);
  if (agent.certificate_serial !== identity.serial)
    throw new UnauthenticatedError(
      `Startup check refused: the certificate of agent ${identity.agentId} was superseded`,
    );
  if (identity.role !== "cloud_box")
    throw new PermissionDeniedError(`Startup check refused: agent ${identity.agentId} is not a cloud box`);
  const box = await cloudBoxOfAgent(deps.knex, identity.agentId);
  if (!box) throw new PermissionDeniedError(`Startup check refused: agent ${identity.agentId} has no cloud box record`);
  return box;
}

function toResponse(a: StartupAnswer, retryAfterMs: number): StartupCheckResponse {
  const base = { boxId: a.box.id, requiresLogin: a.verdict === "login" };
  switch (a.verdict) {
    case "login":
      return create(StartupCheckResponseSchema, { ...base, verdict: StartupVerdict.LOGIN, message: a.message });
    case "refused":
      return create(StartupCheckResponseSchema, { ...base, verdict: StartupVerdict.REFUSED, message: a.message });
    case "starting":
    case "ready": {
      const bound = {
        ...base,
        instanceId: a.instance.id,
        instanceName: a.instance.name,
        instanceStatus: a.instance.status,
        bindingExpireTime: a.binding.expiresAt ? timestampFromDate(a.binding.expiresAt) : undefined,
      };
      if (a.verdict === "starting")
        return create(StartupCheckResponseSchema, {
          ...bound,
          verdict: StartupVerdict.STARTING,
          message: a.message,
          retryAfterMs,
        });
      return create(StartupCheckResponseSchema, {
        ...bound,
        verdict: StartupVerdict.READY,
        instanceStatus: "running",
        ticket: {
          protocol: a.ticket.protocol === "spice" ? GraphicsProtocol.SPICE : GraphicsProtocol.VNC,
          host: a.ticket.host,
          port: a.ticket.port,
          password: a.ticket.password,
          expireTime: timestampFromDate(a.ticket.expireTime),
        },
      });
    }
  }
}

/** CloudBoxAgentService on the agent endpoint (mTLS): StartupCheck. */
export function cloudBoxAgentServiceGrpc(deps: CloudBoxAgentServiceDeps): AgentEndpointService {
  const log = deps.log.child({ component: "cloud-box-startup" });
  return {
    definition: grpcServiceDefinition(CloudBoxAgentService),
    implementation: {
      startupCheck(call: UnaryCall, callback: grpc.sendUnaryData<StartupCheckResponse>) {
        if (call.request instanceof DecodeFailure) {
          callback({
            code: grpc.status.INVALID_ARGUMENT,
            details: `Cannot decode StartupCheckRequest: ${call.request.reason}`,
          });
          return;
        }
        callerBox(deps, call)
          .then((box) => startupCheck(deps, box))
          .then(
            (answer) => {
              log.info({ box: answer.box.id, verdict: answer.verdict }, "Startup check");
              callback(null, toResponse(answer, deps.retryAfterMs));
            },
            (err) => {
              const status = grpcStatusOf(err);
              if (status) {
                log.warn({ reason: status.details }, "Startup check refused");
                callback(status);
              } else {
                log.error({ err }, "Startup check failed");
                callback({ code: grpc.status.INTERNAL, details: "Startup check failed: hub error" });
              }
            },
          );
      },
    },
  };
}
