import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import {
  FetchFirmwareContentResponseSchema,
  FirmwareContentService,
  GetFirmwareSigningKeyResponseSchema,
  type FetchFirmwareContentRequest,
  type FetchFirmwareContentResponse,
  type GetFirmwareSigningKeyRequest,
  type GetFirmwareSigningKeyResponse,
} from "../../gen/edgehub/fleet/v1/firmware_content_pb.js";
import { DecodeFailure, grpcPath, grpcServiceDefinition } from "../../lib/grpc-protobuf/grpc-service-definition.js";
import { isUuid } from "../api/resource-id.js";
import {
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  PermissionDeniedError,
  UnauthenticatedError,
} from "../domain/errors.js";
import type { AgentEndpointService } from "../fleet/agent-endpoint.js";
import { agentIdentityFromPeer, type CaSubject } from "../fleet/agent-identity.js";
import { grpcStatusOf } from "../fleet/grpc-status.js";
import type { ImageContentStore } from "../image-content/image-content-store.js";
import type { FirmwareSigningKey } from "./firmware-signing-key.js";
import { getFirmwareVersion } from "./firmware-version-store.js";

/**
 * What InstallFirmwarePayload.url carries: the method on the hub's agent port (gRPC over TLS, the
 * box's client certificate required) that streams the file. The box dials the hub it is enrolled with.
 */
export const FETCH_FIRMWARE_PATH = grpcPath(FirmwareContentService.method.fetchFirmwareContent);

const CHUNK_BYTES = 1 << 20;

export interface FirmwareContentDeps {
  knex: Knex;
  caSubject: CaSubject;
  clock: Clock;
  log: Logger;
  store: ImageContentStore;
  key: FirmwareSigningKey;
}

type PeerCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, "getAuthContext">;

/** The caller must be an enrolled, unrevoked cloud box presenting its current certificate. */
async function callerBox(deps: FirmwareContentDeps, call: PeerCall): Promise<string> {
  const identity = agentIdentityFromPeer(call.getAuthContext().sslPeerCertificate, deps.caSubject, deps.clock.now());
  const agent = await deps.knex("agents").where({ id: identity.agentId }).first("status", "certificate_serial");
  if (!agent)
    throw new UnauthenticatedError(`Firmware fetch refused: agent ${identity.agentId} is not enrolled with this hub`);
  if (agent.status === "revoked")
    throw new PermissionDeniedError(`Firmware fetch refused: the certificate of agent ${identity.agentId} was revoked`);
  if (agent.certificate_serial !== identity.serial)
    throw new UnauthenticatedError(
      `Firmware fetch refused: the certificate of agent ${identity.agentId} was superseded`,
    );
  if (identity.role !== "cloud_box")
    throw new PermissionDeniedError(
      `Firmware fetch refused: agent ${identity.agentId} is a ${identity.role} agent, not a cloud box`,
    );
  return identity.agentId;
}

type FetchCall = grpc.ServerWritableStream<FetchFirmwareContentRequest | DecodeFailure, FetchFirmwareContentResponse>;

/** FirmwareContentService on the agent endpoint (hub.ts adds it beside AgentService). */
export function firmwareContentService(deps: FirmwareContentDeps): AgentEndpointService {
  const log = deps.log.child({ component: "firmware-content" });
  const refuse = (err: unknown): grpc.StatusObject | Partial<grpc.StatusObject> => {
    const status = grpcStatusOf(err);
    if (!status) log.error({ err }, "Firmware content call failed");
    else if (!(err instanceof DomainError && err.code === "not_found"))
      log.warn({ reason: status.details }, "Firmware content call refused");
    return status ?? { code: grpc.status.INTERNAL, details: "Cannot serve firmware: hub error" };
  };
  return {
    definition: grpcServiceDefinition(FirmwareContentService),
    implementation: {
      getFirmwareSigningKey(
        call: grpc.ServerUnaryCall<GetFirmwareSigningKeyRequest | DecodeFailure, GetFirmwareSigningKeyResponse>,
        callback: grpc.sendUnaryData<GetFirmwareSigningKeyResponse>,
      ) {
        callerBox(deps, call).then(
          () => callback(null, create(GetFirmwareSigningKeyResponseSchema, { publicKeyPem: deps.key.publicKeyPem })),
          (err) => callback(refuse(err)),
        );
      },
      fetchFirmwareContent(call: FetchCall) {
        serve(deps, call, log).catch((err) => call.emit("error", refuse(err)));
      },
    },
  };
}

async function serve(deps: FirmwareContentDeps, call: FetchCall, log: Logger): Promise<void> {
  const agentId = await callerBox(deps, call);
  const req = call.request;
  if (req instanceof DecodeFailure)
    throw new InvalidArgumentError("request", `cannot decode ${req.typeName}: ${req.reason}`);
  if (!isUuid(req.firmwareVersionId)) throw new InvalidArgumentError("firmware_version_id", "must be a UUID");
  const version = await getFirmwareVersion(deps.knex, req.firmwareVersionId);
  if (version.sha256 !== req.sha256)
    throw new FailedPreconditionError(
      `Firmware version ${version.version} has content ${version.sha256}, not the requested ${req.sha256}`,
      { reason: "CONTENT_SHA256_MISMATCH", metadata: { firmware_version_id: version.id } },
    );
  // The hub sends what its store holds; the box verifies digest and signature itself.
  const source = await deps.store.openRead(version.sha256);
  const stop = () => source.destroy();
  call.once("cancelled", stop);
  try {
    let position = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (call.cancelled) return;
      for (let i = 0; i < chunk.length; i += CHUNK_BYTES) {
        const data = chunk.subarray(i, i + CHUNK_BYTES);
        const more = call.write(
          create(FetchFirmwareContentResponseSchema, {
            offset: BigInt(position),
            data,
            totalSizeBytes: BigInt(version.sizeBytes),
          }),
        );
        position += data.length;
        if (!more)
          await new Promise<void>((resolve) => {
            const done = () => {
              call.off("drain", done);
              call.off("cancelled", done);
              resolve();
            };
            call.once("drain", done);
            call.once("cancelled", done);
          });
      }
    }
    call.end();
    log.info({ agent: agentId, firmwareVersion: version.version, bytes: position }, "Firmware sent");
  } finally {
    call.off("cancelled", stop);
    source.destroy();
  }
}
