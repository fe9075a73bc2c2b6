// bench/image-content: throughput of an image upload (admin port, streamed, hashed) and of an agent
// fetch (mTLS gRPC into the agent's cache, verified), against a baseline of reading and hashing the
// same file locally. Prints one JSON document on stdout, progress on stderr. See README.md.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { openAgentImageCache } from "../../agent/image-cache/agent-image-cache.js";
import { enrollAgent } from "../../lib/fleet-session/enroll-agent.js";
import { StateDir } from "../../lib/fleet-session/state-dir.js";
import { createSite, mintToken } from "../../test/fleet/support/fleet-fixtures.js";
import { startTestHub } from "../../test/support/test-hub.js";

const { values: flags } = parseArgs({ options: { "size-mib": { type: "string", default: "512" } } });
const sizeMib = Number(flags["size-mib"]);
const log = (s: string) => process.stderr.write(`${s}\n`);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-bench-image-"));
fs.chmodSync(work, 0o755);

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

const mibps = (seconds: number) => Math.round((sizeMib / seconds) * 10) / 10;

try {
  // A qcow2 magic, then 1 MiB of noise repeated (generating GiBs of randomness would dominate).
  const file = path.join(work, "image.qcow2");
  const block = randomBytes(1 << 20);
  Buffer.from([0x51, 0x46, 0x49, 0xfb]).copy(block);
  const fd = fs.openSync(file, "w");
  for (let i = 0; i < sizeMib; i++) fs.writeSync(fd, block);
  fs.closeSync(fd);

  const baseline = await timed(async () => {
    const h = createHash("sha256");
    await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), h);
    return h.digest("hex");
  });
  const sha256 = baseline.value;
  log(`baseline read+sha256: ${mibps(baseline.seconds)} MiB/s`);

  const t = await startTestHub({ args: ["--image-store", path.join(work, "store")] });
  try {
    const admin = await t.adminToken();
    const api = t.client(ImageService, admin);
    const imageId = (
      await api.createImage({
        image: { name: "bench", imageType: ImageType.OS_BASE, baseOs: "linux", visibility: ImageVisibility.PUBLIC },
      })
    ).image!.id;
    const versionId = (await api.publishImageVersion({ imageId, versionNumber: "v1.0.0" })).version!.id;

    const upload = await timed(
      () =>
        new Promise<number>((resolve, reject) => {
          const req = http.request(`${t.baseUrl}/v1/image-versions/${versionId}/content`, {
            method: "PUT",
            headers: {
              authorization: `Bearer ${admin}`,
              "x-content-sha256": sha256,
              "x-content-format": "qcow2",
              "content-length": String(fs.statSync(file).size),
            },
          });
          req.on("response", (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode!));
          });
          req.on("error", reject);
          fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(req);
        }),
    );
    if (upload.value !== 201) throw new Error(`upload answered ${upload.value}`);
    log(`upload: ${mibps(upload.seconds)} MiB/s`);

    const hub = `127.0.0.1:${t.hub.grpcPort}`;
    const identity = await enrollAgent({
      hub,
      joinToken: await mintToken(t, await createSite(t)),
      role: "compute",
      hostname: "bench-host",
      stateDir: new StateDir(path.join(work, "agent")),
    });
    const cache = await openAgentImageCache({ dir: path.join(work, "cache"), cacheGb: 64, hub, identity });
    const ref = { imageVersionId: versionId, sha256, sizeBytes: BigInt(fs.statSync(file).size) };
    const fetch = await timed(() => cache.ensureImage(ref, new AbortController().signal));
    const hit = await timed(() => cache.ensureImage(ref, new AbortController().signal));
    cache.close();
    log(`fetch into cache: ${mibps(fetch.seconds)} MiB/s; cached hit ${(hit.seconds * 1000).toFixed(2)} ms`);

    process.stdout.write(
      `${JSON.stringify(
        {
          sizeMib,
          cpus: os.cpus().length,
          baselineReadSha256MiBps: mibps(baseline.seconds),
          uploadMiBps: mibps(upload.seconds),
          uploadSeconds: Math.round(upload.seconds * 100) / 100,
          fetchIntoCacheMiBps: mibps(fetch.seconds),
          fetchSeconds: Math.round(fetch.seconds * 100) / 100,
          cachedHitMs: Math.round(hit.seconds * 100000) / 100,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await t.stop();
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
