import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import { skipUnlessBackend } from "../support/real-backends.js";
import { CEPH_POOLS, plainCluster, requireCeph, uniqueImageName } from "../support/ceph-backends.js";
import { cmd, Gateway, MiB } from "./rbd-fixtures.js";

// A cluster that goes away while the gateway holds a connected handle: its own throwaway cluster
// (scripts/ceph-dev.sh with another root and port), stopped under the gateway.

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A loopback port that nothing listens on at the moment. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("ceph_gateway when its cluster goes away (real Ceph, a private cluster)", function () {
  let dir = "";
  let env: NodeJS.ProcessEnv = {};
  const script = path.join(ROOT, "scripts/ceph-dev.sh");

  before(async function () {
    await requireCeph(this, plainCluster, "ceph_gateway with a lost cluster");
    skipUnlessBackend(this, process.getuid?.() === 0, "root, to start a private Ceph cluster");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-ceph-lost-"));
    env = {
      ...process.env,
      EDGEHUB_CEPH_DEV_ROOT: dir,
      EDGEHUB_CEPH_DEV_PORT: String(await freePort()),
      EDGEHUB_CEPH_DEV_CLUSTERS: "plain",
    };
    await run("bash", [script], { env, timeout: 120_000 });
  });
  after(async () => {
    if (!dir) return;
    await run("bash", [script, "--stop"], { env }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("fails commands with 'unavailable' at the link's timeout, and closes the dead handle cleanly", async () => {
    const conf = path.join(dir, "plain", "ceph.conf");
    const gw = new Gateway({ conf, user: "admin", timeoutSeconds: 2 });
    try {
      const image = { pool: CEPH_POOLS.standard, image: uniqueImageName("lost") };
      expect((await gw.image(cmd("createRbdImage", { image, sizeBytes: MiB }))).exists).to.equal(true);
      await run("bash", [script, "--stop"], { env });
      for (const payload of [cmd("statRbdImage", image), cmd("listRbdImages", { pool: image.pool })]) {
        // The command's deadline (30 s) would say "deadline passed": the 2 s op timeouts come first.
        expect(await gw.failure(payload, 30_000)).to.match(
          new RegExp(`^Ceph cluster unavailable \\(conf ${conf}\\): .* got no answer \\(ETIMEDOUT\\)$`),
        );
      }
    } finally {
      await gw.close();
    }
  });
});
