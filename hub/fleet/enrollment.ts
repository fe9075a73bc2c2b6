import type { Knex } from "knex";
import { MalformedJoinTokenError, parseJoinToken } from "../../lib/join-token/join-token.js";
import { newId } from "../db/ids.js";
import { FailedPreconditionError, InvalidArgumentError, PermissionDeniedError } from "../domain/errors.js";
import type { HubCa } from "../pki/hub-ca.js";
import { ENROLLED } from "./agent-lifecycle.js";
import type { AgentRole } from "./fleet-enums.js";
import { normaliseSerial } from "./agent-identity.js";
import { consumeJoinToken } from "./join-token-store.js";
import type { BoxFacts } from "../cloud-box-devices/box-facts.js";
import { checkEnrollmentFacts, registerCloudBox } from "../cloud-box-devices/cloud-box-registry.js";

export interface EnrollmentDeps {
  knex: Knex;
  ca: HubCa;
  /** Lifetime of agent client certificates. */
  certificateValidDays: number;
}

export interface EnrollRequestInput {
  joinToken: string;
  csrPem: string;
  hostname: string;
  role: AgentRole | undefined;
  now: Date;
  /** Cloud boxes: serial number, MAC, model (EnrollRequest.cloud_box). */
  cloudBox?: BoxFacts | null;
}

export interface Enrollment {
  agentId: string;
  certificatePem: string;
  caCertificatePem: string;
  expiresAt: Date;
}

/**
 * Enrolls a new agent: uses the join token once, signs the agent's CSR with the hub CA (the
 * subject is ours: CN = agent id, OU = role) and records the agent, all in one transaction.
 */
export async function enrollAgent(deps: EnrollmentDeps, input: EnrollRequestInput): Promise<Enrollment> {
  let secret: string;
  try {
    const parts = parseJoinToken(input.joinToken);
    secret = parts.secret;
    if (parts.caFingerprint !== deps.ca.fingerprint) {
      throw new FailedPreconditionError("Cannot enroll: the join token pins a different hub CA than this hub's", {
        reason: "CA_MISMATCH",
      });
    }
  } catch (err) {
    if (err instanceof MalformedJoinTokenError) throw new InvalidArgumentError("join_token", err.message);
    throw err;
  }
  const hostname = input.hostname.trim();
  if (!hostname || hostname.length > 253) throw new InvalidArgumentError("hostname", "must be 1 to 253 characters");
  if (!input.csrPem.includes("CERTIFICATE REQUEST"))
    throw new InvalidArgumentError("csr_pem", "must be a PEM PKCS#10 certificate request");
  return deps.knex.transaction(async (trx) => {
    const grant = await consumeJoinToken(trx, secret, input.now);
    if (input.role && input.role !== grant.role) {
      throw new PermissionDeniedError(
        `Cannot enroll: the join token is for role ${grant.role}, the agent asked for ${input.role}`,
      );
    }
    const agentId = newId();
    let signed;
    try {
      signed = await deps.ca.signClientCertificate({
        csrPem: input.csrPem,
        commonName: agentId,
        role: grant.role,
        validDays: deps.certificateValidDays,
        now: input.now,
      });
    } catch (err) {
      throw new InvalidArgumentError("csr_pem", `cannot be signed: ${(err as Error).message}`);
    }
    await trx("agents").insert({
      id: agentId,
      role: grant.role,
      hostname,
      join_token_id: grant.tokenId,
      edge_data_center_id: grant.edgeDataCenterId,
      compute_pool_id: grant.computePoolId,
      machine_type: grant.machineType,
      certificate_serial: normaliseSerial(signed.serialNumber),
      certificate_expires_at: signed.notAfter,
      status: ENROLLED,
      enrolled_at: input.now,
      updated_at: input.now,
    });
    if (grant.role === "cloud_box")
      await registerCloudBox(trx, {
        agentId,
        edgeDataCenterId: grant.edgeDataCenterId,
        facts: checkEnrollmentFacts(input.cloudBox ?? null),
        now: input.now,
      });
    return { agentId, certificatePem: signed.certPem, caCertificatePem: deps.ca.certPem, expiresAt: signed.notAfter };
  });
}
