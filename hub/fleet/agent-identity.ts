import { X509Certificate } from "node:crypto";
import { UnauthenticatedError } from "../domain/errors.js";
import { isAgentRole, type AgentRole } from "./agent-role.js";

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

/**
 * Verifies a peer certificate against the hub CA. TLS requests but does not require client
 * certificates (Enroll comes before one exists), so a certificate from any other CA reaches us
 * and must be refused here; the handshake has already proven the peer holds its key.
 */
export function verifyAgentCertificate(der: Buffer | undefined, ca: X509Certificate, now: Date): AgentIdentity {
  if (!der || der.length === 0) throw new UnauthenticatedError("Agent stream refused: no client certificate issued by this hub's CA was presented (enroll first)");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new UnauthenticatedError("Agent stream refused: the client certificate cannot be parsed");
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new UnauthenticatedError("Agent stream refused: the client certificate is not signed by this hub's CA");
  }
  if (new Date(cert.validTo).getTime() < now.getTime() || new Date(cert.validFrom).getTime() > now.getTime()) {
    throw new UnauthenticatedError(`Agent stream refused: the client certificate is outside its validity (${cert.validFrom} – ${cert.validTo})`);
  }
  const fields = new Map(cert.subject.split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const));
  const agentId = fields.get("CN") ?? "";
  const role = fields.get("OU") ?? "";
  if (!agentId || !isAgentRole(role)) throw new UnauthenticatedError("Agent stream refused: the client certificate names no agent");
  return { agentId, role, serial: normaliseSerial(cert.serialNumber) };
}
