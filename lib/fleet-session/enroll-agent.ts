// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import fs from "node:fs";
import * as grpc from "@grpc/grpc-js";
import * as x509 from "@peculiar/x509";
import { parseJoinToken } from "../join-token/join-token.js";
import { HubClient } from "./hub-client.js";
import { certificateSha256, fetchPinnedHubCa, HubPinningError } from "./pin-hub-ca.js";
import type { StateDir, StoredIdentity } from "./state-dir.js";
import { ROLE_TO_WIRE, type FleetRole } from "./fleet-role.js";
import type { CloudBoxFacts } from "../../gen/edgehub/fleet/v1/cloud_box_pb.js";

x509.cryptoProvider.set(webcrypto as never);

export interface EnrollOptions {
  hub: string;
  joinToken: string;
  role: FleetRole;
  hostname: string;
  /** A CA file given by the operator instead of pinning by the token's fingerprint. */
  hubCaFile?: string | undefined;
  stateDir: StateDir;
  /** Cloud boxes: serial number, MAC and model (the hub registers the box). */
  cloudBox?: CloudBoxFacts | undefined;
}

export class EnrollmentError extends Error {
  override readonly name = "EnrollmentError";
  /** True for transport failures (hub down, timeout); false when the hub refused us. */
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/** Whether a failed enrollment is worth retrying: the hub was unreachable, not unwilling. */
export function isRetryableEnrollmentError(err: unknown): boolean {
  return (err instanceof EnrollmentError || err instanceof HubPinningError) && err.retryable;
}

const RETRYABLE_CODES = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

export function splitHostPort(hub: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hub);
  if (!m) throw new EnrollmentError(`Invalid --hub "${hub}": expected host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

/**
 * First run: pins the hub CA (token fingerprint or --hub-ca), generates a P-256 key and a CSR,
 * calls Enroll over server-authenticated TLS and stores key, certificate and CA in the state dir.
 */
export async function enrollAgent(options: EnrollOptions): Promise<StoredIdentity> {
  const token = parseJoinToken(options.joinToken);
  const { host, port } = splitHostPort(options.hub);
  let caPem: string;
  if (options.hubCaFile) {
    caPem = fs.readFileSync(options.hubCaFile, "utf8");
    if (certificateSha256(caPem) !== token.caFingerprint) {
      throw new HubPinningError(`Cannot enroll: ${options.hubCaFile} is not the CA the join token pins`);
    }
  } else {
    caPem = await fetchPinnedHubCa(host, port, token.caFingerprint);
  }
  const keys = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${options.hostname.replace(/[,=+<>#;"\\]/g, "_")}`,
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
  });
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
  const client = new HubClient(options.hub, { caPem });
  try {
    const res = await client.enroll({
      joinToken: options.joinToken,
      csrPem: csr.toString("pem"),
      hostname: options.hostname,
      role: ROLE_TO_WIRE[options.role],
      cloudBox: options.cloudBox,
    });
    if (certificateSha256(res.caCertificatePem) !== token.caFingerprint)
      throw new EnrollmentError("Cannot enroll: the hub answered with a CA other than the pinned one");
    const identity: StoredIdentity = {
      agentId: res.agentId,
      role: options.role,
      keyPem,
      certPem: res.certificatePem,
      caPem: res.caCertificatePem,
    };
    options.stateDir.saveIdentity(identity);
    return identity;
  } catch (err) {
    const e = err as grpc.ServiceError;
    if (typeof e.code === "number") {
      if (RETRYABLE_CODES.has(e.code))
        throw new EnrollmentError(
          `Cannot reach the hub at ${options.hub} to enroll (${grpc.status[e.code]}): ${e.details}`,
          true,
        );
      throw new EnrollmentError(`Enrollment refused by the hub (${grpc.status[e.code]}): ${e.details}`);
    }
    throw err;
  } finally {
    client.close();
  }
}
