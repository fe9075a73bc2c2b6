import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { AgentService, EnrollResponseSchema, type EnrollRequest, type EnrollResponse } from "../../gen/edgehub/fleet/v1/agent_pb.js";
import { DecodeFailure, grpcServiceDefinition } from "../../lib/grpc-protobuf/grpc-service-definition.js";
import type { AgentEndpointService } from "./agent-endpoint.js";
import { AgentStream, ROLE_FROM_WIRE, type ConnectCall } from "./agent-stream.js";
import { enrollAgent } from "./enrollment.js";
import type { FleetRuntime } from "./fleet-runtime.js";
import { grpcStatusOf } from "./grpc-status.js";

/** AgentService on the agent endpoint: Enroll (server-authenticated TLS) and Connect (mTLS). */
export function agentServiceGrpc(fleet: FleetRuntime): AgentEndpointService {
  const log = fleet.deps.log.child({ component: "agent-service" });
  return {
    definition: grpcServiceDefinition(AgentService),
    implementation: {
      enroll(call: grpc.ServerUnaryCall<EnrollRequest | DecodeFailure, EnrollResponse>, callback: grpc.sendUnaryData<EnrollResponse>) {
        const req = call.request;
        if (req instanceof DecodeFailure) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: `Cannot decode EnrollRequest: ${req.reason}` });
          return;
        }
        enrollAgent(
          { knex: fleet.knex, ca: fleet.deps.ca, certificateValidDays: fleet.deps.options.certificateValidDays },
          { joinToken: req.joinToken, csrPem: req.csrPem, hostname: req.hostname, role: ROLE_FROM_WIRE[req.role], now: fleet.deps.clock.now() },
        ).then(
          (e) => {
            log.info({ agent: e.agentId, hostname: req.hostname }, "Agent enrolled");
            callback(null, create(EnrollResponseSchema, {
              agentId: e.agentId, certificatePem: e.certificatePem, caCertificatePem: e.caCertificatePem, certificateExpiresAt: timestampFromDate(e.expiresAt),
            }));
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
    },
  };
}
