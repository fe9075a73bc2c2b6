import { createHash } from "node:crypto";
import http from "node:http";
import type { Knex } from "knex";
import { newId } from "../../hub/db/ids.js";

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * A firmware image in the format cloudbox-firmware-client/firmware/README.md defines: one
 * executable; `<program> health` is its health check. `healthExit` 0 is a good image; anything else
 * a bad one that fails its check after installing.
 */
export function firmwareImage(version: string, healthExit = 0, padding = 0): Buffer {
  return Buffer.from(
    `#!/bin/sh\n# edgehub test firmware ${version}\n` +
      `if [ "$1" = health ]; then echo "firmware ${version} health exit ${healthExit}"; exit ${healthExit}; fi\n` +
      `echo "firmware ${version}"\n` +
      `# ${"x".repeat(padding)}\n`,
  );
}

export interface UploadReply {
  status: number;
  body: Record<string, unknown>;
}

/** PUT /v1/firmware-versions/{version}/content over HTTP/1.1. */
export function uploadFirmware(
  baseUrl: string,
  version: string,
  body: Buffer,
  options: { token?: string; sha256?: string; models?: string; contentLength?: string } = {},
): Promise<UploadReply> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.sha256 !== "") headers["x-content-sha256"] = options.sha256 ?? sha256(body);
  if (options.models !== undefined) headers["x-firmware-models"] = options.models;
  headers["content-length"] = options.contentLength ?? String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}/v1/firmware-versions/${version}/content`,
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
    req.on("error", (err: NodeJS.ErrnoException) =>
      err.code === "EPIPE" || err.code === "ECONNRESET" ? undefined : reject(err),
    );
    req.end(body);
  });
}

/**
 * A registered cloud box whose client is not running (an agent row and its cloud_boxes row, as
 * enrollment leaves them): commands to it stay queued, which is all the hub-side rules need.
 */
export async function insertOfflineBox(
  knex: Knex,
  opts: { model?: string; tags?: Record<string, string>; status?: string; firmwareVersion?: string } = {},
): Promise<string> {
  const agentId = newId();
  const boxId = newId();
  await knex("agents").insert({
    id: agentId,
    role: "cloud_box",
    hostname: `box-${boxId.slice(-6)}`,
    certificate_serial: boxId.replace(/-/g, ""),
    certificate_expires_at: new Date(Date.now() + 86_400_000),
    status: "offline",
  });
  await knex("cloud_boxes").insert({
    id: boxId,
    agent_id: agentId,
    name: `box-${boxId.slice(-6)}`,
    serial_number: `SN-${boxId}`,
    mac_address: "02:00:00:00:00:01",
    model: opts.model ?? "eb-100",
    tags: JSON.stringify(opts.tags ?? {}),
    status: opts.status ?? "offline",
    firmware_version: opts.firmwareVersion ?? "",
  });
  return boxId;
}
