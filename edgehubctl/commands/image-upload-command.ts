import { createHash } from "node:crypto";
import fs from "node:fs";
import { Command, Option } from "commander";
import type { CliContext } from "../cli-context.js";
import { withExamples } from "../command-examples.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { ReportedError } from "../reported-error.js";
import { UsageError } from "../usage-error.js";

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);

/** The hub's HTTP answer → the documented exit codes (as for the same codes over Connect). */
const EXIT_BY_STATUS: Record<number, ExitCode> = {
  400: EXIT.USAGE,
  401: EXIT.PERMISSION,
  403: EXIT.PERMISSION,
  404: EXIT.NOT_FOUND,
  409: EXIT.CONFLICT,
  413: EXIT.QUOTA,
};

/**
 * `image upload VERSION_ID FILE`: the bytes of an image version, streamed to
 * PUT /v1/image-versions/{id}/content after a first pass computes their sha256 (the hub verifies it).
 */
export function imageUploadCommand(ctx: CliContext): Command {
  const cmd = new Command("upload")
    .description("Upload the disk image (qcow2 or raw) of an image version; content never changes once set")
    .argument("<image-version-id>", "the image version")
    .argument("<file>", "the disk image")
    .addOption(
      new Option("--format <format>", "qcow2 or raw; detected from the file when unset").choices(["qcow2", "raw"]),
    );
  withExamples(cmd, ["edgehubctl image upload 0192c3a4-… ./ubuntu-22.04.qcow2"]);
  cmd.action(async (versionId: string, file: string, opts: { format?: string }) => {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch (err) {
      throw new UsageError(`Cannot read ${file}: ${(err as Error).message}`);
    }
    const hash = createHash("sha256");
    let head: Buffer | undefined;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      head ??= chunk.subarray(0, QCOW2_MAGIC.length);
      hash.update(chunk);
    }
    const format = opts.format ?? (head?.equals(QCOW2_MAGIC) ? "qcow2" : "raw");
    const session = await ctx.session(cmd);
    const url = new URL(`/v1/image-versions/${encodeURIComponent(versionId)}/content`, session.context.hub);
    const { request } = url.protocol === "https:" ? await import("node:https") : await import("node:http");
    const { status, body } = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = request(url, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${session.context.token}`,
          "x-content-sha256": hash.digest("hex"),
          "x-content-format": format,
          "content-length": String(size),
        },
      });
      req.on("response", (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => {
          const text = Buffer.concat(parts).toString();
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            parsed = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on("error", reject);
      fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(req);
    });
    if (status === 200 || status === 201) {
      ctx.io.stdout.write(
        `${status === 201 ? "Uploaded" : "Already there:"} ${body.content_sha256} (${body.content_size_bytes} bytes, ${body.content_format}) for image version ${versionId}\n`,
      );
      return;
    }
    const reason = typeof body.reason === "string" ? ` [${body.reason}]` : "";
    ctx.io.stderr.write(`error: ${String(body.message ?? `the hub answered HTTP ${status}`)}${reason}\n`);
    throw new ReportedError(EXIT_BY_STATUS[status] ?? EXIT.FAILURE);
  });
  return cmd;
}
