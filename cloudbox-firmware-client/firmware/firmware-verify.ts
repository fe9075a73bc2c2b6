import { createHash, createPublicKey, verify } from "node:crypto";
import fs from "node:fs";

/** The sha256 of a file, in lower-case hex. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Why a downloaded file must not be installed, or undefined when it may: its sha256 must be the one
 * the hub announced, and the signature must be the hub's firmware key over that digest.
 */
export function verificationFailure(
  expected: { sha256: string; signature: string },
  actualSha256: string,
  publicKeyPem: string,
): string | undefined {
  if (actualSha256 !== expected.sha256.toLowerCase())
    return `sha256 mismatch: the download hashes to ${actualSha256}, the hub announced ${expected.sha256}`;
  let ok = false;
  try {
    ok = verify(
      null,
      Buffer.from(actualSha256, "hex"),
      createPublicKey(publicKeyPem),
      Buffer.from(expected.signature, "base64"),
    );
  } catch {
    ok = false;
  }
  return ok ? undefined : "signature mismatch: the signature is not the hub's firmware key over the file's sha256";
}
