import { createHash } from "node:crypto";
import fs from "node:fs";
import { create } from "@bufbuild/protobuf";
import {
  FetchFirmwareContentRequestSchema,
  FetchFirmwareContentResponseSchema,
  FirmwareContentService,
  GetFirmwareSigningKeyRequestSchema,
  GetFirmwareSigningKeyResponseSchema,
  type FetchFirmwareContentResponse,
} from "../../gen/edgehub/fleet/v1/firmware_content_pb.js";
import { HubClient, type HubTls } from "../../lib/fleet-session/hub-client.js";
import { deserializerOf, grpcPath, serializerOf } from "../../lib/grpc-protobuf/grpc-service-definition.js";

/**
 * The box's side of FirmwareContentService on the hub's agent port, over mTLS with the box's
 * enrolled key and certificate (the same identity as its session). One channel per install.
 */
export class HubFirmwareLink {
  private readonly client: HubClient;

  constructor(hub: string, tls: Required<HubTls>) {
    this.client = new HubClient(hub, tls);
  }

  signingKey(timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      this.client.raw.makeUnaryRequest(
        grpcPath(FirmwareContentService.method.getFirmwareSigningKey),
        serializerOf(GetFirmwareSigningKeyRequestSchema),
        deserializerOf(GetFirmwareSigningKeyResponseSchema),
        create(GetFirmwareSigningKeyRequestSchema, {}),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err || !res ? reject(err ?? new Error("no answer")) : resolve(res.publicKeyPem)),
      );
    });
  }

  /**
   * Streams the file into `target` (created anew), hashing on the way; stops with an error past
   * `maxBytes`. Returns the sha256 and size of what arrived: checking them is the caller's job.
   */
  async download(
    req: { firmwareVersionId: string; sha256: string },
    target: string,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<{ sha256: string; sizeBytes: number }> {
    signal.throwIfAborted();
    const call = this.client.raw.makeServerStreamRequest(
      grpcPath(FirmwareContentService.method.fetchFirmwareContent),
      serializerOf(FetchFirmwareContentRequestSchema),
      deserializerOf(FetchFirmwareContentResponseSchema),
      create(FetchFirmwareContentRequestSchema, req),
    );
    const cancel = () => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    const hash = createHash("sha256");
    const file = await fs.promises.open(target, "w", 0o600);
    let size = 0;
    try {
      for await (const chunk of call as AsyncIterable<FetchFirmwareContentResponse>) {
        if (Number(chunk.offset) !== size)
          throw new Error(`firmware stream: chunk at ${chunk.offset}, expected ${size}`);
        size += chunk.data.byteLength;
        if (size > maxBytes) throw new Error(`firmware stream: more than the announced ${maxBytes} bytes`);
        hash.update(chunk.data);
        await file.write(chunk.data);
      }
      signal.throwIfAborted();
      await file.sync();
    } finally {
      signal.removeEventListener("abort", cancel);
      call.cancel();
      await file.close();
    }
    return { sha256: hash.digest("hex"), sizeBytes: size };
  }

  close(): void {
    this.client.close();
  }
}
