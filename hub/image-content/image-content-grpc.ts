import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import {
  FetchImageContentResponseSchema,
  type FetchImageContentRequest,
  type FetchImageContentResponse,
} from "../../gen/edgehub/fleet/v1/image_content_pb.js";
import { DecodeFailure } from "../../lib/grpc-protobuf/grpc-service-definition.js";
import { isUuid } from "../api/resource-id.js";
import {
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  PermissionDeniedError,
  UnauthenticatedError,
} from "../domain/errors.js";
import { agentIdentityFromPeer, type AgentIdentity, type CaSubject } from "../fleet/agent-identity.js";
import { grpcStatusOf } from "../fleet/grpc-status.js";
import { SHA256_HEX, type ImageContentStore } from "./image-content-store.js";
import { getVersionContent } from "./version-content-store.js";

export interface FetchImageContentDeps {
  knex: Knex;
  caSubject: CaSubject;
  clock: Clock;
  log: Logger;
  store: ImageContentStore;
}

type FetchCall = grpc.ServerWritableStream<FetchImageContentRequest | DecodeFailure, FetchImageContentResponse>;

/** The largest `data` of one chunk: well under grpc's 4 MiB default message limit. */
export const CHUNK_BYTES = 1 << 20;

class OutOfRangeError extends Error {}

/**
 * AgentService.FetchImageContent: the caller is named by its client certificate exactly as on the
 * Connect stream (agentIdentityFromPeer, then the enrolled, unrevoked agent with that serial), must
 * be a compute agent, and gets only a version whose content is the sha256 it asked for.
 */
export function fetchImageContentHandler(deps: FetchImageContentDeps): (call: FetchCall) => void {
  const log = deps.log.child({ component: "image-content-fetch" });
  return (call) => {
    serve(deps, call).catch((err) => {
      if (err instanceof OutOfRangeError) {
        call.emit("error", { code: grpc.status.OUT_OF_RANGE, details: err.message });
        return;
      }
      const status = grpcStatusOf(err);
      if (!status) log.error({ err }, "Image content fetch failed");
      else if (!(err instanceof DomainError && err.code === "not_found"))
        log.warn({ reason: status.details }, "Image content fetch refused");
      call.emit("error", status ?? { code: grpc.status.INTERNAL, details: "Cannot send image content: hub error" });
    });
  };
}

async function callerAgent(deps: FetchImageContentDeps, call: FetchCall): Promise<AgentIdentity> {
  const identity = agentIdentityFromPeer(call.getAuthContext().sslPeerCertificate, deps.caSubject, deps.clock.now());
  const agent = await deps.knex("agents").where({ id: identity.agentId }).first("status", "certificate_serial");
  if (!agent)
    throw new UnauthenticatedError(`Image fetch refused: agent ${identity.agentId} is not enrolled with this hub`);
  if (agent.status === "revoked")
    throw new PermissionDeniedError(`Image fetch refused: the certificate of agent ${identity.agentId} was revoked`);
  if (agent.certificate_serial !== identity.serial)
    throw new UnauthenticatedError(`Image fetch refused: the certificate of agent ${identity.agentId} was superseded`);
  if (identity.role !== "compute")
    throw new PermissionDeniedError(
      `Image fetch refused: agent ${identity.agentId} is a ${identity.role} agent, not compute`,
    );
  return identity;
}

async function serve(deps: FetchImageContentDeps, call: FetchCall): Promise<void> {
  const agent = await callerAgent(deps, call);
  const req = call.request;
  if (req instanceof DecodeFailure)
    throw new InvalidArgumentError("request", `cannot decode ${req.typeName}: ${req.reason}`);
  if (!isUuid(req.imageVersionId)) throw new InvalidArgumentError("image_version_id", "must be a UUID");
  if (!SHA256_HEX.test(req.sha256)) throw new InvalidArgumentError("sha256", "must be 64 lower-case hex digits");
  const version = await getVersionContent(deps.knex, req.imageVersionId);
  if (!version.content)
    throw new FailedPreconditionError(`Image version ${req.imageVersionId} has no content uploaded yet`, {
      reason: "VERSION_HAS_NO_CONTENT",
      metadata: { image_version_id: req.imageVersionId },
    });
  if (version.content.sha256 !== req.sha256)
    throw new FailedPreconditionError(
      `Image version ${req.imageVersionId} has content ${version.content.sha256}, not the requested ${req.sha256}`,
      { reason: "CONTENT_SHA256_MISMATCH", metadata: { image_version_id: req.imageVersionId } },
    );
  const total = version.content.sizeBytes;
  const offset = Number(req.offset);
  if (offset > total) throw new OutOfRangeError(`offset ${offset} is beyond the content's ${total} bytes`);
  if (offset === total) {
    call.end();
    return;
  }
  const source = await deps.store.openRead(req.sha256, { start: offset });
  const stop = () => source.destroy();
  call.once("cancelled", stop);
  try {
    let position = offset;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (call.cancelled) return;
      for (let i = 0; i < chunk.length; i += CHUNK_BYTES) {
        const data = chunk.subarray(i, i + CHUNK_BYTES);
        const more = call.write(
          create(FetchImageContentResponseSchema, {
            offset: BigInt(position),
            data,
            totalSizeBytes: BigInt(total),
          }),
        );
        position += data.length;
        if (!more) await drained(call);
      }
    }
    call.end();
    deps.log.info(
      { agent: agent.agentId, imageVersion: req.imageVersionId, sha256: req.sha256, offset, bytes: position - offset },
      "Image content sent",
    );
  } finally {
    call.off("cancelled", stop);
    source.destroy();
  }
}

/** Resolves when the call can take more, or is cancelled (then the loop above stops). */
function drained(call: FetchCall): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      call.off("cancelled", done);
      resolve();
    };
    call.once("drain", done);
    call.once("cancelled", done);
  });
}
