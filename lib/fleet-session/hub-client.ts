import net from "node:net";
import tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import {
  AgentService,
  AgentMessageSchema,
  EnrollRequestSchema,
  EnrollResponseSchema,
  HubMessageSchema,
  type AgentMessage,
  type EnrollRequest,
  type EnrollResponse,
  type HubMessage,
} from "../../gen/edgehub/fleet/v1/agent_pb.js";
import { deserializerOf, grpcPath, serializerOf } from "../grpc-protobuf/grpc-service-definition.js";

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // Keepalive on the agent side too: a dead hub or a silent NAT drop is noticed without a heartbeat timeout.
  // 30 s for the ack: a hub absorbing a reconnect storm can stall for seconds, and cutting a
  // connection it just accepted only adds another handshake to its queue.
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 30_000,
  "grpc.keepalive_permit_without_calls": 1,
  // The session core does its own reconnects with jittered backoff.
  "grpc.initial_reconnect_backoff_ms": 1000,
  "grpc.max_receive_message_length": 16 * 1024 * 1024,
  // Each session owns its channel and closes it on every reconnect. The process-wide pool grpc-js
  // shares subchannels through is scanned linearly per new channel, comparing options and
  // credentials: a process holding thousands of sessions (bench/fleet's simulated agents) spent a
  // minute of CPU there after a hub restart before a single handshake went out.
  "grpc.use_local_subchannel_pool": 1,
  // Nothing reads channelz in an agent; it only adds bookkeeping to every connection attempt.
  "grpc.enable_channelz": 0,
};

/** What a connection to a hub trusts (the hub CA) and, once enrolled, presents (key + certificate). */
export interface HubTls {
  caPem: string;
  keyPem?: string | undefined;
  certPem?: string | undefined;
}

/** A stand-in TLS server name for hubs addressed by IP (SNI may not carry an IP, RFC 6066). */
const IP_SERVER_NAME = "edgehub-hub";

// createSsl parses the PEMs into a TLS context each time; a session reconnecting (or thousands of
// them after a hub restart) reuses one per identity and hub instead.
const credentialCache = new WeakMap<HubTls, Map<string, grpc.ChannelCredentials>>();

function credentialsFor(t: HubTls, host: string, byIp: boolean): grpc.ChannelCredentials {
  let perHost = credentialCache.get(t);
  if (!perHost) credentialCache.set(t, (perHost = new Map()));
  let credentials = perHost.get(host);
  if (!credentials) {
    // For an IP target the SNI name is a placeholder, but the certificate is still checked against the IP.
    credentials = grpc.credentials.createSsl(
      Buffer.from(t.caPem),
      t.keyPem ? Buffer.from(t.keyPem) : null,
      t.certPem ? Buffer.from(t.certPem) : null,
      byIp ? { checkServerIdentity: (_name, cert) => tls.checkServerIdentity(host, cert) } : {},
    );
    perHost.set(host, credentials);
  }
  return credentials;
}

/** A typed grpc-js client for AgentService, built from the protobuf-es descriptor. */
export class HubClient {
  private readonly client: grpc.Client;

  constructor(target: string, t: HubTls, extraOptions: grpc.ChannelOptions = {}) {
    const host = target.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
    const byIp = net.isIP(host) !== 0;
    const credentials = credentialsFor(t, host, byIp);
    this.client = new grpc.Client(target, credentials, {
      ...CHANNEL_OPTIONS,
      ...(byIp ? { "grpc.ssl_target_name_override": IP_SERVER_NAME } : {}),
      ...extraOptions,
    });
  }

  /** The raw grpc-js client, for tests that need to send bytes the typed methods would not. */
  get raw(): grpc.Client {
    return this.client;
  }

  enroll(request: Omit<EnrollRequest, "$typeName">, timeoutMs = 30_000): Promise<EnrollResponse> {
    const method = AgentService.method.enroll;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        grpcPath(method),
        serializerOf(EnrollRequestSchema),
        deserializerOf(EnrollResponseSchema),
        { $typeName: "edgehub.fleet.v1.EnrollRequest", ...request } as EnrollRequest,
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err || !res ? reject(err ?? new Error("Enroll returned nothing")) : resolve(res)),
      );
    });
  }

  connect(): ClientDuplexStream<AgentMessage, HubMessage> {
    return this.client.makeBidiStreamRequest(
      grpcPath(AgentService.method.connect),
      serializerOf(AgentMessageSchema),
      deserializerOf(HubMessageSchema),
    );
  }

  /**
   * Calls back once the channel is READY (TCP, TLS and HTTP/2 set up), or with "timeout" when it is
   * still connecting after `timeoutMs`. A refused connection fails the pending call itself, so only
   * a slow handshake (a hub busy with thousands of them) ends here. Returns a canceller.
   */
  onceConnected(timeoutMs: number, callback: (outcome: "ready" | "timeout") => void): () => void {
    const channel = this.client.getChannel();
    const deadline = Date.now() + timeoutMs;
    let cancelled = false;
    const check = () => {
      if (cancelled) return;
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) return callback("ready");
      if (state === grpc.connectivityState.SHUTDOWN) return;
      channel.watchConnectivityState(state, deadline, (err) => {
        if (cancelled) return;
        if (err) callback("timeout");
        else check();
      });
    };
    check();
    return () => {
      cancelled = true;
    };
  }

  close(): void {
    this.client.close();
  }
}
