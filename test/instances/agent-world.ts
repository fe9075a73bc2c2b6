import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ImageArchitecture, ImageService, ImageType, ImageVisibility } from "../../gen/edgehub/admin/v1/image_pb.js";
import { InstanceService } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { disposeAgents, spawnAgent, waitFor, type AgentProcess } from "../fleet/support/agent-process.js";
import { createSite, mintToken, type Site } from "../fleet/support/fleet-fixtures.js";
import { sha256, uploadContent } from "../image-content/upload-support.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD } from "../catalog/catalog-fixtures.js";

// A hub and one real compute agent process, with an image version whose bytes were uploaded
// through the hub: what the agent-backed instance suites (test:///default, real QEMU) share.

export interface AgentWorldOptions {
  libvirtUri: string;
  domainType?: string;
  instanceDir: string;
  imageCacheDir: string;
  /** The disk file uploaded as the image version's content. */
  imageFile: string;
  /** Extra hub flags, e.g. ["--instance-network", "none"]. */
  hubArgs?: string[];
}

/** A real compute agent process enrolled into `site`; resolves once its machine is registered and connected. */
export async function enrollComputeAgent(
  t: TestHub,
  site: Site,
  o: Pick<AgentWorldOptions, "libvirtUri" | "domainType" | "instanceDir" | "imageCacheDir">,
  hostname = "compute-1",
): Promise<{ agent: AgentProcess; machineId: string }> {
  const agent = spawnAgent({
    hub: `127.0.0.1:${t.hub.grpcPort}`,
    joinToken: await mintToken(t, site),
    role: "compute",
    hostname,
    extraArgs: [
      "--libvirt-uri",
      o.libvirtUri,
      ...(o.domainType ? ["--domain-type", o.domainType] : []),
      "--instance-dir",
      o.instanceDir,
      "--image-cache-dir",
      o.imageCacheDir,
      "--image-cache-gb",
      "1",
    ],
  });
  const machineId = await waitFor(
    "the compute agent's machine to register with a connected agent",
    async () =>
      (
        (await t.hub.db
          .knex("compute_machines as m")
          .join("agents as a", "a.id", "m.agent_id")
          .where("a.status", "connected")
          .where("a.hostname", hostname)
          .first("m.id")) as { id: string } | undefined
      )?.id,
    120_000,
  );
  return { agent, machineId };
}

/** Uploads a disk file as an image version's content through the hub's PUT route. */
export async function uploadImageFile(t: TestHub, token: string, versionId: string, file: string): Promise<void> {
  const bytes = fs.readFileSync(file);
  const up = await uploadContent(t.baseUrl, versionId, bytes, { token, sha256: sha256(bytes), format: "qcow2" });
  expect(up.status, JSON.stringify(up.body)).to.be.oneOf([200, 201]);
}

/**
 * An AgentWorld on libvirt's test:///default driver in a scratch directory of its own (`dir`: the
 * agent's instances/ and images/, the uploaded base.qcow2), which `stopTestDriverWorld` removes.
 */
export async function startTestDriverWorld(prefix: string): Promise<{ w: AgentWorld; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `edgehub-${prefix}-`));
  const imageFile = path.join(dir, "base.qcow2");
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", imageFile, "64M"]);
  const w = new AgentWorld({
    libvirtUri: "test:///default",
    instanceDir: path.join(dir, "instances"),
    imageCacheDir: path.join(dir, "images"),
    imageFile,
  });
  try {
    await w.start();
  } catch (err) {
    await stopTestDriverWorld(w, dir);
    throw err;
  }
  return { w, dir };
}

export async function stopTestDriverWorld(w: AgentWorld | undefined, dir: string): Promise<void> {
  await w?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

export class AgentWorld {
  t!: TestHub;
  site!: Site;
  agent: AgentProcess | undefined;
  machineId = "";
  imageId = "";
  versionId = "";
  private token = "";

  constructor(private readonly o: AgentWorldOptions) {}

  async start(): Promise<void> {
    this.t = await startTestHub({ args: this.o.hubArgs ?? [] });
    this.site = await createSite(this.t, "inst");
    ({ agent: this.agent, machineId: this.machineId } = await enrollComputeAgent(this.t, this.site, this.o));
    // A container's root disk may be reported as 0 GB; the test machine gets room for its instances.
    await this.knex("compute_machines")
      .where({ id: this.machineId })
      .where("storage_gb", "<", 10)
      .update({ storage_gb: 10 });
    const people = new CatalogPeople(this.knex);
    const tenant = await people.tenant("tenant-a");
    await people.user("alice", "user", tenant);
    this.token = await this.t.login("alice", PASSWORD, "tenant-a");
    const adminToken = await this.t.adminToken();
    const images = this.t.client(ImageService, adminToken);
    this.imageId = (
      await images.createImage({
        image: {
          name: "tiny",
          imageType: ImageType.OS_BASE,
          architecture: ImageArchitecture.X86_64,
          visibility: ImageVisibility.PUBLIC,
        },
      })
    ).image!.id;
    this.versionId = (await images.publishImageVersion({ imageId: this.imageId, versionNumber: "v1.0.0" })).version!.id;
    await uploadImageFile(this.t, adminToken, this.versionId, this.o.imageFile);
  }

  async stop(): Promise<void> {
    if (this.agent) await disposeAgents([this.agent]);
    await this.t?.stop();
  }

  get knex() {
    return this.t.hub.db.knex;
  }

  client() {
    return this.t.client(InstanceService, this.token);
  }

  /** Waits for a status; a failure says what the instance, its events and the agent's commands were. */
  async reach(id: string, status: string): Promise<void> {
    try {
      await waitFor(
        `instance ${id} to be ${status}`,
        async () =>
          ((await this.knex("instances").where({ id }).first("status")) as { status: string }).status === status,
        180_000,
      );
    } catch (err) {
      const row = await this.knex("instances").where({ id }).first("status", "desired_state", "last_error");
      const events = await this.knex("instance_events").where({ instance_id: id }).orderBy("id").pluck("message");
      const commands = await this.knex("agent_commands").orderBy("created_at").select("kind", "state", "error");
      throw new Error(
        `${(err as Error).message}\n${JSON.stringify({ row, events, commands }, null, 1)}\n${this.agent?.output().slice(-3000)}`,
      );
    }
  }

  async allocation(): Promise<number[]> {
    const row = (await this.knex("compute_machines")
      .where({ id: this.machineId })
      .first("allocated_cpu_cores", "allocated_memory_gb", "allocated_storage_gb")) as Record<string, number>;
    return [Number(row.allocated_cpu_cores), Number(row.allocated_memory_gb), Number(row.allocated_storage_gb)];
  }
}
