import * as grpc from "@grpc/grpc-js";
import net from "node:net";
import type { AddressInfo } from "node:net";
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
  limits?: AgentConnectionLimits;
}

/** Connection limits of the agent port (issue 11 #1): idle or silent sockets must not pile up. */
export interface AgentConnectionLimits {
  /**
   * A new connection must send its first bytes (the TLS ClientHello) within this. Later stages
   * have their own deadlines: a half-done TLS handshake is dropped after Node's 120 s, an
   * established connection that stops answering keepalive pings after 60 s.
   */
  firstByteTimeoutMs: number;
  /** Open connections one remote address may hold; more are closed at once. High: a site's agents may share a NAT. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_AGENT_CONNECTION_LIMITS: AgentConnectionLimits = Object.freeze({
  firstByteTimeoutMs: 10_000,
  maxConnectionsPerAddress: 1024,
});

/**
 * The agent endpoint: gRPC over TLS with the hub CA. Client certificates are requested but not
 * required at the TLS layer, because Enroll runs before an agent has one; the stream handler
 * checks the peer certificate itself.
 */
export class AgentEndpoint {
  readonly server: grpc.Server;
  private readonly credentials: grpc.ServerCredentials;
  private readonly limits: AgentConnectionLimits;
  private readonly perAddress = new Map<string, number>();
  private listener: net.Server | undefined;
  private injector: ReturnType<grpc.Server["createConnectionInjector"]> | undefined;

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
    this.limits = options.limits ?? DEFAULT_AGENT_CONNECTION_LIMITS;
  }

  /**
   * The endpoint owns its TCP listener and hands accepted sockets to grpc-js (a connection
   * injector), so it can shed what would exhaust the hub's descriptors before TLS even starts:
   * over-cap addresses, sockets that never speak, connections gone silent.
   */
  listen(host: string, port: number): Promise<number> {
    this.injector = this.server.createConnectionInjector(this.credentials);
    const listener = net.createServer({ pauseOnConnect: false }, (socket) => this.admit(socket));
    this.listener = listener;
    return new Promise((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(port, host, () => {
        listener.off("error", reject);
        resolve((listener.address() as AddressInfo).port);
      });
    });
  }

  private admit(socket: net.Socket): void {
    const address = socket.remoteAddress ?? "unknown";
    const held = this.perAddress.get(address) ?? 0;
    if (held >= this.limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    this.perAddress.set(address, held + 1);
    socket.once("close", () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
    socket.on("error", () => socket.destroy());
    // TLS reads the socket's handle natively once injected, so no JS 'data' listener may be added
    // (it would steal the ClientHello); the handle's byte count tells whether the peer spoke.
    const firstByte = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, this.limits.firstByteTimeoutMs);
    firstByte.unref();
    socket.once("close", () => clearTimeout(firstByte));
    this.injector!.injectConnection(socket);
  }

  /** Stops accepting and waits for calls to end, forcing them closed after `timeoutMs`. */
  close(timeoutMs: number): Promise<void> {
    this.listener?.close();
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
