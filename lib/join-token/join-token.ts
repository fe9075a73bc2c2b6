import { createHash, randomBytes } from "node:crypto";

/**
 * A join token as an admin hands it out: `ehj1.<secret>.<sha256 of the hub CA certificate>`.
 * Like kubeadm's discovery-token-ca-cert-hash, the fingerprint lets an agent pin the hub on its
 * first contact without a CA file; only the secret's hash is stored by the hub.
 */
const PREFIX = "ehj1";

export interface JoinTokenParts {
  readonly secret: string;
  readonly caFingerprint: string;
}

export class MalformedJoinTokenError extends Error {
  override readonly name = "MalformedJoinTokenError";
}

export function newJoinTokenSecret(): string {
  return randomBytes(24).toString("base64url");
}

export function formatJoinToken(parts: JoinTokenParts): string {
  return `${PREFIX}.${parts.secret}.${parts.caFingerprint.toLowerCase()}`;
}

export function parseJoinToken(token: string): JoinTokenParts {
  const [prefix, secret, fingerprint, ...rest] = token.trim().split(".");
  if (prefix !== PREFIX || !secret || !fingerprint || rest.length > 0) {
    throw new MalformedJoinTokenError(`Cannot read the join token: expected ${PREFIX}.<secret>.<ca-sha256>`);
  }
  if (!/^[A-Za-z0-9_-]{16,}$/.test(secret))
    throw new MalformedJoinTokenError("Cannot read the join token: the secret is malformed");
  if (!/^[0-9a-fA-F]{64}$/.test(fingerprint))
    throw new MalformedJoinTokenError("Cannot read the join token: the CA fingerprint is not a SHA-256 hex digest");
  return { secret, caFingerprint: fingerprint.toLowerCase() };
}

/** What the hub stores and looks tokens up by. */
export function hashJoinTokenSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}
