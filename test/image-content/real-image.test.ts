import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { openAgentImageCache, type AgentImageCache } from "../../agent/image-cache/agent-image-cache.js";
import { enrollAgent } from "../../lib/fleet-session/enroll-agent.js";
import { StateDir } from "../../lib/fleet-session/state-dir.js";
import { createSite, mintToken } from "../fleet/support/fleet-fixtures.js";
import { skipUnlessBackend } from "../support/real-backends.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { sha256, uploadContent } from "./upload-support.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Where the bootable test disk is cached: shared with the libvirt tests, readable by libvirt-qemu. */
function imageDir(): string {
  if (process.env.EDGEHUB_TEST_IMAGE_DIR) return process.env.EDGEHUB_TEST_IMAGE_DIR;
  try {
    fs.mkdirSync("/var/lib/edgehub-test-image", { recursive: true });
    fs.accessSync("/var/lib/edgehub-test-image", fs.constants.W_OK);
    return "/var/lib/edgehub-test-image";
  } catch {
    return path.join(os.tmpdir(), "edgehub-test-image");
  }
}

/** Whether every directory above `file` lets others through and others may read it (QEMU runs as libvirt-qemu). */
function readableByOthers(file: string): boolean {
  if ((fs.statSync(file).mode & 0o004) === 0) return false;
  for (let d = path.dirname(file); d !== path.dirname(d); d = path.dirname(d))
    if ((fs.statSync(d).mode & 0o001) === 0) return false;
  return true;
}

describe("the real test disk through upload, fetch and the agent cache (qcow2 from scripts/build-test-image.sh)", function () {
  let t: TestHub | undefined;
  let image: string;
  const dirs: string[] = [];
  let agentCache: AgentImageCache | undefined;

  before(function () {
    const qemuImg = spawnSync("qemu-img", ["--version"]).status === 0;
    skipUnlessBackend(this, qemuImg, "qemu-img (apt-get install qemu-utils; scripts/build-test-image.sh installs it)");
    const out = execFileSync("bash", [path.join(ROOT, "scripts/build-test-image.sh"), imageDir()], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    image = out.trim().split("\n")[0]!;
  });
  after(async () => {
    agentCache?.close();
    await t?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("uploads it, a compute agent fetches it into its cache, and a qcow2 overlay on the cached copy checks clean", async () => {
    const bytes = fs.readFileSync(image);
    expect(bytes.subarray(0, 4).toString("latin1")).to.equal("QFI\xfb");
    t = await startTestHub();
    const admin = await t.adminToken();
    const api = t.client(ImageService, admin);
    const imageId = (
      await api.createImage({
        image: {
          name: "test-guest",
          imageType: ImageType.OS_BASE,
          baseOs: "linux",
          visibility: ImageVisibility.PUBLIC,
        },
      })
    ).image!.id;
    const versionId = (await api.publishImageVersion({ imageId, versionNumber: "v1.0.0" })).version!.id;
    const up = await uploadContent(t.baseUrl, versionId, bytes, { token: admin, chunked: true });
    expect(up.status).to.equal(201);

    const hub = `127.0.0.1:${t.hub.grpcPort}`;
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-real-image-agent-"));
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-real-image-cache-"));
    dirs.push(stateDir, cacheDir);
    fs.chmodSync(cacheDir, 0o755);
    const identity = await enrollAgent({
      hub,
      joinToken: await mintToken(t, await createSite(t)),
      role: "compute",
      hostname: "real-image-host",
      stateDir: new StateDir(stateDir),
    });
    agentCache = await openAgentImageCache({ dir: cacheDir, cacheGb: 1, hub, identity });
    const ref = { imageVersionId: versionId, sha256: sha256(bytes), sizeBytes: BigInt(bytes.length) };
    const cached = await agentCache.ensureImage(ref, new AbortController().signal);
    expect(cached.fetched).to.equal(true);
    expect(sha256(fs.readFileSync(cached.path))).to.equal(ref.sha256);
    expect(readableByOthers(cached.path), "libvirt-qemu can read the cached image").to.equal(true);

    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", cached.path], { encoding: "utf8" }));
    expect(info.format).to.equal("qcow2");
    const overlay = path.join(cacheDir, "overlay.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", cached.path, "-F", "qcow2", overlay]);
    expect(spawnSync("qemu-img", ["check", overlay]).status).to.equal(0);
  });
});
