import * as grpc from "@grpc/grpc-js";
import {
  CloudBoxAgentService,
  StartupCheckRequestSchema,
  StartupCheckResponseSchema,
  type StartupCheckRequest,
  type StartupCheckResponse,
} from "../gen/edgehub/fleet/v1/cloud_box_pb.js";
import { deserializerOf, grpcPath, serializerOf } from "../lib/grpc-protobuf/grpc-service-definition.js";
import { HubClient } from "../lib/fleet-session/hub-client.js";
import type { StoredIdentity } from "../lib/fleet-session/state-dir.js";

/** The hub did not answer (down, unreachable, timed out): worth retrying, unlike a refusal. */
export class HubUnreachableError extends Error {
  override readonly name = "HubUnreachableError";
}

const UNREACHABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED]);

/**
 * StartupCheck over mTLS with the box's enrolled certificate (its identity). One channel per call:
 * a box asks a handful of times per boot.
 */
export async function callStartupCheck(
  hub: string,
  identity: StoredIdentity,
  timeoutMs = 30_000,
): Promise<StartupCheckResponse> {
  const client = new HubClient(hub, identity);
  try {
    return await new Promise<StartupCheckResponse>((resolve, reject) => {
      client.raw.makeUnaryRequest(
        grpcPath(CloudBoxAgentService.method.startupCheck),
        serializerOf(StartupCheckRequestSchema),
        deserializerOf(StartupCheckResponseSchema),
        { $typeName: "edgehub.fleet.v1.StartupCheckRequest" } as StartupCheckRequest,
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err) {
            reject(
              UNREACHABLE.has(err.code)
                ? new HubUnreachableError(`The hub at ${hub} is unreachable (${grpc.status[err.code]}): ${err.details}`)
                : new Error(`The hub refused the startup check (${grpc.status[err.code]}): ${err.details}`),
            );
          } else if (!res) reject(new Error("StartupCheck returned nothing"));
          else resolve(res);
        },
      );
    });
  } finally {
    client.close();
  }
}
