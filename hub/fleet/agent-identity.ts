import type { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { UnauthenticatedError } from "../domain/errors.js";
import { AGENT_ROLE, type AgentRole } from "./fleet-enums.js";

/** Who is on the other end of a stream, read from its client certificate. */
export interface AgentIdentity {
  readonly agentId: string;
  readonly role: AgentRole;
  /** Lower-case hex without leading zeros, comparable with the stored serial. */
  readonly serial: string;
}

export function normaliseSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+/, "");
}

/** The hub CA's subject as attribute → value pairs, the shape TLS reports a peer's issuer in. */
export type CaSubject = ReadonlyArray<readonly [string, string]>;

export function caSubjectOf(ca: X509Certificate): CaSubject {
  return ca.subject
    .split("\n")
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const);
}

// Runs once per stream: compares in place instead of building strings.
function issuedBy(issuer: Record<string, unknown>, ca: CaSubject): boolean {
  let n = 0;
  for (const key in issuer) if (Object.hasOwn(issuer, key)) n += 1;
  return n === ca.length && ca.every(([k, v]) => issuer[k] === v);
}

/**
 * The agent named by a stream's client certificate. TLS requests but does not require client
 * certificates (Enroll comes before one exists), and grpc-js hands a certificate to the handler
 * only when OpenSSL verified it against the hub CA during the handshake (chain and validity
 * dates); anything else arrives here as no certificate. Parsing and verifying the DER again cost
 * about 0.3 ms of the hub's one thread per stream, a third of a reconnect storm's per-stream work,
 * so the identity comes from the certificate TLS already checked; the issuer and dates are
 * compared once more because they are free.
 */
export function agentIdentityFromPeer(
  peer: PeerCertificate | undefined,
  caSubject: CaSubject,
  now: Date,
): AgentIdentity {
  if (!peer?.raw || peer.raw.length === 0) {
    throw new UnauthenticatedError(
      "Agent stream refused: no client certificate issued by this hub's CA was presented (enroll first)",
    );
  }
  if (!issuedBy(peer.issuer as unknown as Record<string, unknown>, caSubject)) {
    throw new UnauthenticatedError("Agent stream refused: the client certificate is not signed by this hub's CA");
  }
  if (Date.parse(peer.valid_to) < now.getTime() || Date.parse(peer.valid_from) > now.getTime()) {
    throw new UnauthenticatedError(
      `Agent stream refused: the client certificate is outside its validity (${peer.valid_from} – ${peer.valid_to})`,
    );
  }
  const agentId = typeof peer.subject.CN === "string" ? peer.subject.CN : "";
  const role = typeof peer.subject.OU === "string" ? peer.subject.OU : "";
  if (!agentId || !AGENT_ROLE.isDbValue(role))
    throw new UnauthenticatedError("Agent stream refused: the client certificate names no agent");
  return { agentId, role, serial: normaliseSerial(peer.serialNumber) };
}
