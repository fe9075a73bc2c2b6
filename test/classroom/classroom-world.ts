import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CloudBoxService } from "../../gen/edgehub/admin/v1/cloud_box_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { disposeAgents, waitFor, type AgentProcess } from "../fleet/support/agent-process.js";
import { createSite, mintToken, type Site } from "../fleet/support/fleet-fixtures.js";
import { enrollComputeAgent, uploadImageFile } from "../instances/agent-world.js";
import { SetWorld } from "../instance-sets/set-world.js";
import { spawnBox, type BoxProcess } from "../cloud-boxes/box-process.js";

// A classroom with real programs: a hub (SetWorld's: a teacher, students, a public image), one
// compute agent process on libvirt's test:///default driver (given room for a whole class), the
// image's bytes uploaded through the hub, and edgehub-cloudbox processes enrolled with a site token.
// Shared by test/classroom/ and bench/classroom/.

export class ClassroomWorld extends SetWorld {
  site!: Site;
  agent: AgentProcess | undefined;
  machineId = "";
  readonly boxes: BoxProcess[] = [];
  private dir = "";
  private boxToken = "";

  constructor(students: number) {
    super(students);
  }

  override async start(args: string[] = []): Promise<void> {
    await super.start(args);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-classroom-"));
    this.site = await createSite(this.t, "class");
    ({ agent: this.agent, machineId: this.machineId } = await enrollComputeAgent(
      this.t,
      this.site,
      {
        libvirtUri: "test:///default",
        instanceDir: path.join(this.dir, "instances"),
        imageCacheDir: path.join(this.dir, "images"),
      },
      "classroom-host",
    ));
    // The test driver's domains use nothing: the one host is given room for a class of 60 seats.
    await this.knex("compute_machines")
      .where({ id: this.machineId })
      .update({ cpu_cores: 256, memory_gb: 1024, storage_gb: 8192 });
    const imageFile = path.join(this.dir, "base.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", imageFile, "64M"]);
    await uploadImageFile(this.t, this.adminToken, this.versionId, imageFile);
    this.boxToken = await mintToken(this.t, this.site, { role: AgentRole.CLOUD_BOX, maxUses: 500 });
  }

  private hubStopped = false;

  /** The hub goes away (a test of what keeps working without it); stop() then skips it. */
  async stopHub(): Promise<void> {
    this.hubStopped = true;
    await this.t.stop();
  }

  override async stop(): Promise<void> {
    await Promise.all(this.boxes.map((b) => b.dispose()));
    if (this.agent) await disposeAgents([this.agent]);
    if (!this.hubStopped) await super.stop();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  get grpcTarget(): string {
    return `127.0.0.1:${this.t.hub.grpcPort}`;
  }

  async cloudBoxes(u: Parameters<SetWorld["token"]>[0]) {
    return this.t.client(CloudBoxService, await this.token(u));
  }

  /** Starts a box process (first boot enrolls it; later boots reuse its state directory). */
  bootBox(serial: string, stateDir?: string): BoxProcess {
    const box = spawnBox({
      hub: this.grpcTarget,
      joinToken: this.boxToken,
      apiUrl: this.t.baseUrl,
      serial,
      mac: `02:00:00:00:${serial.slice(-4, -2)}:${serial.slice(-2)}`,
      stateDir,
      metrics: false,
    });
    this.boxes.push(box);
    return box;
  }

  /** The box's id once the hub has it online. */
  onlineBoxId(serial: string): Promise<string> {
    return waitFor(
      `box ${serial} online`,
      async () =>
        (
          (await this.knex("cloud_boxes").where({ serial_number: serial, status: "online" }).first("id")) as
            { id: string } | undefined
        )?.id,
      120_000,
    );
  }

  async waitForStatus(ids: string[], status: string, timeoutMs = 180_000): Promise<void> {
    await waitFor(
      `${ids.length} instances ${status}`,
      async () => {
        const n = await this.knex("instances").whereIn("id", ids).where({ status }).count<{ n: string }[]>("* as n");
        return Number(n[0]!.n) === ids.length;
      },
      timeoutMs,
    );
  }
}
