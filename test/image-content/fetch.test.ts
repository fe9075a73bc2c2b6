import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { lazyAgentImageCache } from "../../agent/image-cache/agent-image-cache.js";
import { hubImageFetch, type HubImageFetch } from "../../agent/image-cache/hub-image-fetch.js";
import { ImageCache } from "../../agent/image-cache/image-cache.js";
import type { ImageContentRef } from "../../agent/image-cache/image-content-ref.js";
import { enrollAgent } from "../../lib/fleet-session/enroll-agent.js";
import { StateDir, type StoredIdentity } from "../../lib/fleet-session/state-dir.js";
import { createSite, mintToken } from "../fleet/support/fleet-fixtures.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { fakeQcow2, sha256, uploadContent } from "./upload-support.js";

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function grpcFailure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error("expected the fetch to fail");
}

describe("AgentService.FetchImageContent over the agent's mTLS link", function () {
  let t: TestHub;
  let hub: string;
  let compute: StoredIdentity;
  let gateway: StoredIdentity;
  let ref: ImageContentRef;
  let emptyVersionId: string;
  const fetchers: HubImageFetch[] = [];
  const dirs: string[] = [];
  // Over 2 MiB: the hub must split it into chunks of at most 1 MiB.
  const image = fakeQcow2(2 * 1024 * 1024 + 12_345);
  const signal = new AbortController().signal;

  const tmpDir = (prefix: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  const fetcherFor = (identity: { caPem: string; keyPem: string; certPem: string }) => {
    const f = hubImageFetch(hub, identity);
    fetchers.push(f);
    return f;
  };

  before(async () => {
    t = await startTestHub();
    hub = `127.0.0.1:${t.hub.grpcPort}`;
    const site = await createSite(t);
    compute = await enrollAgent({
      hub,
      joinToken: await mintToken(t, site),
      role: "compute",
      hostname: "compute-1",
      stateDir: new StateDir(tmpDir("edgehub-fetch-compute-")),
    });
    gateway = await enrollAgent({
      hub,
      joinToken: await mintToken(t, site, { role: AgentRole.CEPH_GATEWAY }),
      role: "ceph_gateway",
      hostname: "gateway-1",
      stateDir: new StateDir(tmpDir("edgehub-fetch-gateway-")),
    });
    const admin = await t.adminToken();
    const api = t.client(ImageService, admin);
    const imageId = (
      await api.createImage({
        image: { name: "fetched", imageType: ImageType.OS_BASE, baseOs: "linux", visibility: ImageVisibility.PUBLIC },
      })
    ).image!.id;
    const versionId = (await api.publishImageVersion({ imageId, versionNumber: "v1.0.0" })).version!.id;
    emptyVersionId = (await api.publishImageVersion({ imageId, versionNumber: "v1.0.1" })).version!.id;
    expect((await uploadContent(t.baseUrl, versionId, image, { token: admin })).status).to.equal(201);
    ref = { imageVersionId: versionId, sha256: sha256(image), sizeBytes: BigInt(image.length) };
  });
  after(async () => {
    for (const f of fetchers) f.close();
    await t?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("streams the whole content to an enrolled compute agent, in chunks of at most 1 MiB", async () => {
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const c of fetcherFor(compute).fetch(ref, 0, signal)) {
      sizes.push(c.byteLength);
      parts.push(Buffer.from(c));
    }
    expect(Buffer.concat(parts).equals(image)).to.equal(true);
    expect(sizes.length).to.be.greaterThan(2);
    expect(Math.max(...sizes)).to.be.at.most(1024 * 1024);
  });

  it("resumes from an offset; at the end it sends nothing, past it answers OUT_OF_RANGE", async () => {
    const f = fetcherFor(compute);
    const offset = 1_500_000;
    expect((await collect(f.fetch(ref, offset, signal))).equals(image.subarray(offset))).to.equal(true);
    expect((await collect(f.fetch(ref, image.length, signal))).length).to.equal(0);
    const err = await grpcFailure(collect(f.fetch(ref, image.length + 1, signal)));
    expect(err.code).to.equal(grpc.status.OUT_OF_RANGE);
  });

  it("refuses a hash that is not the version's content, and a version without content (FAILED_PRECONDITION)", async () => {
    const f = fetcherFor(compute);
    const wrong = await grpcFailure(collect(f.fetch({ ...ref, sha256: sha256(Buffer.from("x")) }, 0, signal)));
    expect(wrong.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(wrong.details).to.contain("not the requested");
    const empty = await grpcFailure(collect(f.fetch({ ...ref, imageVersionId: emptyVersionId }, 0, signal)));
    expect(empty.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(empty.details).to.contain("no content");
  });

  it("refuses a caller without a client certificate (UNAUTHENTICATED) and a non-compute agent (PERMISSION_DENIED)", async () => {
    const anonymous = fetcherFor({ caPem: compute.caPem, keyPem: "", certPem: "" });
    const noCert = await grpcFailure(collect(anonymous.fetch(ref, 0, signal)));
    expect(noCert.code).to.equal(grpc.status.UNAUTHENTICATED);
    const wrongRole = await grpcFailure(collect(fetcherFor(gateway).fetch(ref, 0, signal)));
    expect(wrongRole.code).to.equal(grpc.status.PERMISSION_DENIED);
  });

  it("refuses an agent whose certificate was revoked (PERMISSION_DENIED)", async () => {
    const site = await createSite(t, "revoked");
    const revoked = await enrollAgent({
      hub,
      joinToken: await mintToken(t, site),
      role: "compute",
      hostname: "compute-revoked",
      stateDir: new StateDir(tmpDir("edgehub-fetch-revoked-")),
    });
    const f = fetcherFor(revoked);
    expect((await collect(f.fetch(ref, image.length - 10, signal))).length).to.equal(10);
    await t.client(FleetService, await t.adminToken()).revokeAgent({ id: revoked.agentId, reason: "test" });
    const err = await grpcFailure(collect(f.fetch(ref, 0, signal)));
    expect(err.code).to.equal(grpc.status.PERMISSION_DENIED);
  });

  it("a cache built before enrollment reads the identity at its first use", async () => {
    let identity: StoredIdentity | undefined;
    const lazy = lazyAgentImageCache({
      dir: tmpDir("edgehub-fetch-lazy-"),
      cacheGb: 1,
      hub,
      loadIdentity: () => identity,
    });
    try {
      const err = await lazy.ensureImage(ref, signal).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).to.contain("not enrolled");
      identity = compute;
      const got = await lazy.ensureImage(ref, signal);
      expect(got.fetched).to.equal(true);
      expect(sha256(fs.readFileSync(got.path))).to.equal(ref.sha256);
    } finally {
      lazy.close();
    }
  });

  it("fills the agent's image cache: verified, world-readable, fetched once", async () => {
    const cache = await ImageCache.open({
      dir: tmpDir("edgehub-fetch-cache-"),
      maxBytes: 10 * 1024 * 1024,
      fetch: fetcherFor(compute).fetch,
    });
    const first = await cache.ensureImage(ref, signal);
    expect(first.fetched).to.equal(true);
    expect(sha256(fs.readFileSync(first.path))).to.equal(ref.sha256);
    expect(fs.statSync(first.path).mode & 0o777).to.equal(0o644);
    expect(await cache.ensureImage(ref, signal)).to.deep.equal({ path: first.path, fetched: false });
  });
});
