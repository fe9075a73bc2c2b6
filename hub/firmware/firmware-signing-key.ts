import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import type { Knex } from "knex";

/**
 * The hub's firmware signing key (Ed25519). A signature covers the raw 32-byte sha256 digest of
 * the file, so a box checks it against the digest it computed itself while downloading.
 */
export class FirmwareSigningKey {
  private constructor(
    private readonly privateKey: KeyObject,
    readonly publicKeyPem: string,
    readonly fingerprint: string,
  ) {}

  static fromPem(privateKeyPem: string): FirmwareSigningKey {
    const privateKey = createPrivateKey(privateKeyPem);
    const publicKey = createPublicKey(privateKey);
    return new FirmwareSigningKey(
      privateKey,
      publicKey.export({ type: "spki", format: "pem" }).toString(),
      fingerprintOf(publicKey),
    );
  }

  /** Base64 signature of the file whose sha256 is `sha256Hex`. */
  signDigest(sha256Hex: string): string {
    return sign(null, Buffer.from(sha256Hex, "hex"), this.privateKey).toString("base64");
  }
}

function fingerprintOf(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/** Whether `signatureBase64` is the key's signature over the digest `sha256Hex` (what a box checks). */
export function verifyDigestSignature(publicKeyPem: string, sha256Hex: string, signatureBase64: string): boolean {
  try {
    return verify(
      null,
      Buffer.from(sha256Hex, "hex"),
      createPublicKey(publicKeyPem),
      Buffer.from(signatureBase64, "base64"),
    );
  } catch {
    return false;
  }
}

/**
 * Loads the key every hub shares, creating it on the very first start (like the hub CA: callers
 * hold the bootstrap advisory lock, so two hubs starting together cannot each create one).
 */
export async function loadOrCreateFirmwareKey(
  knex: Knex,
  now: Date,
): Promise<{ key: FirmwareSigningKey; created: boolean }> {
  const row = await knex("hub_firmware_key")
    .where("id", 1)
    .first<{ private_key_pem: string } | undefined>("private_key_pem");
  if (row) return { key: FirmwareSigningKey.fromPem(row.private_key_pem), created: false };
  const { privateKey } = generateKeyPairSync("ed25519");
  const key = FirmwareSigningKey.fromPem(privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  await knex("hub_firmware_key")
    .insert({
      id: 1,
      public_key_pem: key.publicKeyPem,
      private_key_pem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      fingerprint_sha256: key.fingerprint,
      created_at: now,
    })
    .onConflict("id")
    .ignore();
  // Another hub may have won a race outside the bootstrap lock: the stored row is the key.
  const stored = await knex("hub_firmware_key").where("id", 1).first<{ private_key_pem: string }>("private_key_pem");
  return {
    key: FirmwareSigningKey.fromPem(stored.private_key_pem),
    created: stored.private_key_pem === privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
