import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { CloudBoxService, CloudBoxStatus } from "../../gen/edgehub/admin/v1/cloud_box_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { NetworkMode } from "../../gen/edgehub/fleet/v1/cloud_box_pb.js";
import { enrollAgent } from "../../lib/fleet-session/enroll-agent.js";
import { StateDir } from "../../lib/fleet-session/state-dir.js";
import { waitFor } from "../fleet/support/agent-process.js";
import { createSite, mintToken, type Site } from "../fleet/support/fleet-fixtures.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { spawnBox, type BoxProcess } from "./box-process.js";

// Plug and play (000 §1.6): a real edgehub-cloudbox process enrolls with a site token carrying its
// serial number, MAC and model; the hub registers the box as initializing, its first Hello makes it
// online, its heartbeats' metrics carry the device metrics, and a closed stream takes it offline.

describe("cloud boxes enroll and report (real hub, real edgehub-cloudbox)", function () {
  this.timeout(180_000);
  let t: TestHub;
  let site: Site;
  const boxes: BoxProcess[] = [];
  const dirs: string[] = [];

  before(async () => {
    t = await startTestHub({ args: ["--heartbeat-interval", "300", "--metrics-interval", "300"] });
    site = await createSite(t, "boxes");
  });
  after(async () => {
    await Promise.all(boxes.map((b) => b.dispose()));
    await t?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const hub = () => `127.0.0.1:${t.hub.grpcPort}`;
  const row = (serial: string) => t.hub.db.knex("cloud_boxes").where({ serial_number: serial }).first();
  const enrollDirect = async (token: string, facts: Parameters<typeof enrollAgent>[0]["cloudBox"]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-box-enroll-"));
    dirs.push(dir);
    await enrollAgent({
      hub: hub(),
      joinToken: token,
      role: "cloud_box",
      hostname: "box",
      hubCaFile: path.join(t.config.dataDir, "pki", "hub-ca.crt"),
      stateDir: new StateDir(dir),
      cloudBox: facts,
    });
    return dir;
  };

  it("is initializing after enrollment, online after its first Hello with facts and device metrics, offline when its stream closes", async () => {
    const token = await mintToken(t, site, { role: AgentRole.CLOUD_BOX });
    const dir = await enrollDirect(token, {
      $typeName: "edgehub.fleet.v1.CloudBoxFacts",
      serialNumber: "SN-0001",
      macAddress: "02:00:00:00:00:01",
      model: "EB-100",
      manufacturer: "Edge",
      firmwareVersion: "0.1.0",
      ipAddress: "",
    });
    const enrolled = await row("SN-0001");
    expect(enrolled).to.include({
      status: "initializing",
      mac_address: "02:00:00:00:00:01",
      model: "EB-100",
      edge_data_center_id: site.edgeDataCenterId,
    });

    const box = spawnBox({
      hub: hub(),
      serial: "SN-0001",
      mac: "02:00:00:00:00:01",
      stateDir: dir,
      extraArgs: [
        "--network-mode",
        "static",
        "--gateway",
        "10.0.0.1",
        "--dns",
        "10.0.0.2,10.0.0.3",
        "--subnet-mask",
        "255.255.255.0",
      ],
    });
    boxes.push(box);
    await waitFor("the box online", async () => (await row("SN-0001"))?.status === "online");
    const online = await waitFor("device metrics", async () => {
      const r = await row("SN-0001");
      return r?.last_metrics ? r : undefined;
    });
    expect(online).to.include({ network_mode: "static", gateway: "10.0.0.1", subnet_mask: "255.255.255.0" });
    expect(online.dns_servers).to.deep.equal(["10.0.0.2", "10.0.0.3"]);

    const client = t.client(CloudBoxService, await t.adminToken());
    const { cloudBox } = await client.getCloudBox({ id: online.id });
    expect(cloudBox!.status).to.equal(CloudBoxStatus.ONLINE);
    expect(cloudBox!.network!.mode).to.equal(NetworkMode.STATIC);
    const m = cloudBox!.lastMetrics!;
    for (const v of [m.cpuUsagePercent, m.memoryUsagePercent, m.diskUsagePercent]) expect(v).to.be.within(0, 100);
    expect(m.memoryUsagePercent).to.be.greaterThan(0);
    expect(m.uptimeSeconds > 0n).to.equal(true);
    expect(cloudBox!.lastBootTime).to.not.equal(undefined);

    await box.kill();
    await waitFor("the box offline once its stream closed", async () => (await row("SN-0001"))?.status === "offline");
  });

  it("refuses enrollment without box facts, with a malformed MAC, or with a serial number another box holds; the token stays unspent", async () => {
    const token = await mintToken(t, site, { role: AgentRole.CLOUD_BOX });
    const facts = {
      $typeName: "edgehub.fleet.v1.CloudBoxFacts" as const,
      serialNumber: "SN-0002",
      macAddress: "02:00:00:00:00:02",
      model: "EB-100",
      manufacturer: "",
      firmwareVersion: "",
      ipAddress: "",
    };
    const refused = async (f: typeof facts | undefined) => {
      try {
        await enrollDirect(token, f);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("enrollment was accepted");
    };
    expect(await refused(undefined)).to.match(/INVALID_ARGUMENT.*cloud_box: is required/);
    expect(await refused({ ...facts, macAddress: "not-a-mac" })).to.match(/INVALID_ARGUMENT.*cloud_box\.mac_address/);
    expect(await refused({ ...facts, serialNumber: "SN-0001" })).to.match(/ALREADY_EXISTS.*serial number SN-0001/);
    expect(await t.hub.db.knex("cloud_boxes").where({ serial_number: "SN-0002" }).first()).to.equal(undefined);
    // Refusals spent nothing: the single-use token still enrolls the right box.
    await enrollDirect(token, facts);
    expect((await row("SN-0002"))?.status).to.equal("initializing");
  });
});
