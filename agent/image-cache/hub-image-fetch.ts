import { create } from "@bufbuild/protobuf";
import { AgentService } from "../../gen/edgehub/fleet/v1/agent_pb.js";
import {
  FetchImageContentRequestSchema,
  FetchImageContentResponseSchema,
  type FetchImageContentResponse,
} from "../../gen/edgehub/fleet/v1/image_content_pb.js";
import { deserializerOf, grpcPath, serializerOf } from "../../lib/grpc-protobuf/grpc-service-definition.js";
import { HubClient, type HubTls } from "../../lib/fleet-session/hub-client.js";
import type { ImageFetch } from "./image-content-ref.js";

const FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

export interface HubImageFetch {
  readonly fetch: ImageFetch;
  close(): void;
}

/**
 * ImageFetch over the agent's mTLS link: AgentService.FetchImageContent on `hub` (host:port),
 * presenting the agent's enrolled key and certificate. One channel serves every fetch until close().
 */
export function hubImageFetch(hub: string, tls: Required<HubTls>): HubImageFetch {
  // A wide HTTP/2 window: at the default 64 KiB a fetch moves at most one window per round trip
  // (≈1.3 MB/s to an edge site 50 ms away); 8 MiB allows ≈160 MB/s there.
  const client = new HubClient(hub, tls, { "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW_BYTES });
  const method = AgentService.method.fetchImageContent;
  async function* fetch(
    ref: Parameters<ImageFetch>[0],
    offset: number,
    signal: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    signal.throwIfAborted();
    const call = client.raw.makeServerStreamRequest(
      grpcPath(method),
      serializerOf(FetchImageContentRequestSchema),
      deserializerOf(FetchImageContentResponseSchema),
      create(FetchImageContentRequestSchema, {
        imageVersionId: ref.imageVersionId,
        sha256: ref.sha256,
        offset: BigInt(offset),
      }),
    );
    const cancel = () => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      let position = offset;
      for await (const chunk of call as AsyncIterable<FetchImageContentResponse>) {
        // Chunks must be contiguous from the offset asked for; anything else is a broken stream.
        if (Number(chunk.offset) !== position)
          throw new Error(`image ${ref.imageVersionId}: chunk at ${chunk.offset}, expected ${position}`);
        position += chunk.data.byteLength;
        yield chunk.data;
      }
      signal.throwIfAborted();
    } finally {
      signal.removeEventListener("abort", cancel);
      call.cancel(); // no-op after a clean end; stops the hub when the consumer stopped early
    }
  }
  return { fetch, close: () => client.close() };
}
