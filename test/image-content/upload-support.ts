import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Bytes that pass as qcow2 (the magic, then noise): the hub checks only the magic. */
export function fakeQcow2(size: number): Buffer {
  const b = randomBytes(size);
  Buffer.from([0x51, 0x46, 0x49, 0xfb]).copy(b);
  return b;
}

export interface UploadReply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * PUT /v1/image-versions/{id}/content over plain HTTP/1.1. `chunked` sends no Content-Length (the
 * hub must count while it reads).
 */
export function uploadContent(
  baseUrl: string,
  versionId: string,
  body: Buffer,
  options: { token?: string; sha256?: string; digestHeader?: boolean; format?: string; chunked?: boolean } = {},
): Promise<UploadReply> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const declared = options.sha256 ?? sha256(body);
  if (options.digestHeader) headers.digest = `sha-256=${Buffer.from(declared, "hex").toString("base64")}`;
  else headers["x-content-sha256"] = declared;
  if (options.format !== "") headers["x-content-format"] = options.format ?? "qcow2";
  if (!options.chunked) headers["content-length"] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}/v1/image-versions/${versionId}/content`,
      { method: "PUT", headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => {
          const text = Buffer.concat(parts).toString();
          resolve({ status: res.statusCode!, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
        });
        res.on("error", reject);
      },
    );
    // The hub may answer (and close) before the whole body is sent; the answer is what counts.
    req.on("error", (err: NodeJS.ErrnoException) =>
      err.code === "EPIPE" || err.code === "ECONNRESET" ? undefined : reject(err),
    );
    for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
    req.end();
  });
}

/** Every content file in a store directory (sha256/<ab>/<hash>). */
export function storedHashes(storeDir: string): string[] {
  const root = path.join(storeDir, "sha256");
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .flatMap((ab) => fs.readdirSync(path.join(root, ab)))
    .sort();
}
