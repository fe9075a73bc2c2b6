import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import {
  AgentService,
  EnrollRequestSchema,
  EnrollResponseSchema,
  type EnrollRequest,
  type EnrollResponse,
} from "../../gen/edgehub/fleet/v1/agent_pb.js";
import { DecodeFailure, grpcServiceDefinition } from "../../lib/grpc-protobuf/grpc-service-definition.js";
import type { AgentEndpointService } from "./agent-endpoint.js";
import { AgentStream, type ConnectCall } from "./agent-stream.js";
import { checkAgentText } from "../api/text-rules.js";
import { enrollAgent } from "./enrollment.js";
import { boxFactsFromProto } from "../cloud-box-devices/box-facts-wire.js";
import { AGENT_ROLE } from "./fleet-enums.js";
import type { FleetRuntime } from "./fleet-runtime.js";
import { grpcStatusOf } from "./grpc-status.js";

/** Handlers of AgentService methods other features serve (FetchImageContent: hub/image-content). */
export interface AgentServiceExtensions {
  fetchImageContent: grpc.UntypedHandleCall;
}

/** AgentService on the agent endpoint: Enroll (server-authenticated TLS) and Connect (mTLS). */
export function agentServiceGrpc(fleet: FleetRuntime, extensions: AgentServiceExtensions): AgentEndpointService {
  const log = fleet.deps.log.child({ component: "agent-service" });
  return {
    definition: grpcServiceDefinition(AgentService),
    implementation: {
      enroll(
        call: grpc.ServerUnaryCall<EnrollRequest | DecodeFailure, EnrollResponse>,
        callback: grpc.sendUnaryData<EnrollResponse>,
      ) {
        const req = call.request;
        if (req instanceof DecodeFailure) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: `Cannot decode EnrollRequest: ${req.reason}` });
          return;
        }
        // An unknown role number is invalid_argument; unspecified takes the token's role.
        Promise.resolve()
          .then(() => checkAgentText(EnrollRequestSchema, req))
          .then(() =>
            enrollAgent(
              { knex: fleet.knex, ca: fleet.deps.ca, certificateValidDays: fleet.deps.options.certificateValidDays },
              {
                joinToken: req.joinToken,
                csrPem: req.csrPem,
                hostname: req.hostname,
                role: AGENT_ROLE.toDbFilter("role", req.role) ?? undefined,
                now: fleet.deps.clock.now(),
                cloudBox: boxFactsFromProto(req.cloudBox),
              },
            ),
          )
          .then(
            (e) => {
              log.info({ agent: e.agentId, hostname: req.hostname }, "Agent enrolled");
              callback(
                null,
                create(EnrollResponseSchema, {
                  agentId: e.agentId,
                  certificatePem: e.certificatePem,
                  caCertificatePem: e.caCertificatePem,
                  certificateExpireTime: timestampFromDate(e.expiresAt),
                }),
              );
            },
            (err) => {
              const status = grpcStatusOf(err);
              if (status) {
                log.warn({ hostname: req.hostname, reason: status.details }, "Enrollment refused");
                callback(status);
              } else {
                log.error({ err }, "Enrollment failed");
                callback({ code: grpc.status.INTERNAL, details: "Cannot enroll: hub error" });
              }
            },
          );
      },
      connect(call: ConnectCall) {
        new AgentStream(fleet, call).start();
      },
      fetchImageContent: extensions.fetchImageContent,
    },
  };
}
