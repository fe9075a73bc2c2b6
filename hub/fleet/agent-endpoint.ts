import * as grpc from "@grpc/grpc-js";
import type { PemPair } from "../pki/hub-ca.js";
import { StaticCertificateProvider } from "./static-certificate-provider.js";

/** A gRPC service definition and its handlers, as grpc-js takes them. */
export interface AgentEndpointService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export interface AgentEndpointOptions {
  caPem: string;
  server: PemPair;
  services: readonly AgentEndpointService[];
  /** Largest message accepted from an agent. */
  maxReceiveMessageBytes: number;
}

/**
 * The agent endpoint: gRPC over TLS with the hub CA. Client certificates are requested but not
 * required at the TLS layer, because Enroll runs before an agent has one; the stream handler
 * checks the peer certificate itself.
 */
export class AgentEndpoint {
  readonly server: grpc.Server;
  private readonly credentials: grpc.ServerCredentials;

  constructor(options: AgentEndpointOptions) {
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": options.maxReceiveMessageBytes,
      // A ping unanswered for 30 s means a dead agent; shorter, and a hub busy with a reconnect
      // storm (event-loop stalls of several seconds) would cut connections it just set up.
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 30_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.http2.min_ping_interval_without_data_ms": 5_000,
      // No channelz service is exposed, and its per-connection bookkeeping is ~5 % of accepting a stream.
      "grpc.enable_channelz": 0,
    });
    for (const service of options.services) this.server.addService(service.definition, service.implementation);
    // createSsl(…, false) would not even request a client certificate; the certificate-provider
    // credentials request one without requiring it, which Enroll (no certificate yet) needs.
    // The CA goes out after the leaf so a first-contact agent can pin it by its fingerprint.
    const identity = {
      certPem: `${options.server.certPem.trimEnd()}\n${options.caPem}`,
      keyPem: options.server.keyPem,
    };
    const provider = new StaticCertificateProvider(options.caPem, identity);
    this.credentials = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, this.credentials, (err, boundPort) =>
        err ? reject(err) : resolve(boundPort),
      );
    });
  }

  /** Stops accepting and waits for calls to end, forcing them closed after `timeoutMs`. */
  close(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, timeoutMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
