import { expect } from "chai";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  FirmwareRolloutBoxStatus as BoxStatus,
  FirmwareRolloutStatus,
  FirmwareService,
  type FirmwareRollout,
} from "../../gen/edgehub/admin/v1/firmware_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { spawnAgent, waitFor, type AgentProcess } from "../fleet/support/agent-process.js";
import { inParallel } from "../fleet/support/hub-admin.js";
import { createSite, mintToken } from "../fleet/support/fleet-fixtures.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { firmwareImage, sha256, uploadFirmware } from "./firmware-support.js";

const BOXES = 10;

/** Every file under a box's slots directory with the sha256 of its bytes: what "untouched" compares. */
function slotSnapshot(stateDir: string): Record<string, string> {
  const root = path.join(stateDir, "slots");
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    out[path.relative(root, file)] = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  }
  return out;
}

function pointerOf(stateDir: string): { active: string; previous: string | null; trial: boolean } {
  return JSON.parse(fs.readFileSync(path.join(stateDir, "slots", "active.json"), "utf8")) as never;
}

function manifestOf(stateDir: string, slot: string): { version: string } | undefined {
  const file = path.join(stateDir, "slots", slot, "manifest.json");
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }) : undefined;
}

describe("firmware rollouts to real cloud box processes (in-process hub, edgehub-cloudbox children)", function () {
  this.timeout(300_000);
  let t: TestHub;
  let token: string;
  const boxes: AgentProcess[] = [];
  /** cloud_boxes.id → the box process's state directory. */
  const stateDirOf = new Map<string, string>();
  const fw = () => t.client(FirmwareService, token);

  before(async () => {
    t = await startTestHub();
    token = await t.adminToken();
    const site = await createSite(t, "fw");
    const joinToken = await mintToken(t, site, { role: AgentRole.CLOUD_BOX, maxUses: BOXES });
    for (let i = 0; i < BOXES; i++) {
      const serial = `FW-BOX-${i}`;
      boxes.push(
        spawnAgent({
          hub: `127.0.0.1:${t.hub.grpcPort}`,
          program: "cloudbox",
          joinToken,
          hostname: `fw-box-${i}`,
          extraArgs: ["--serial-number", serial, "--mac-address", `02:00:00:00:f0:${i.toString(16).padStart(2, "0")}`],
        }),
      );
    }
    // Enrolled and holding a session: the event a rollout needs, read from the hub's own tables.
    await waitFor(
      `${BOXES} cloud boxes connected`,
      async () => {
        const rows = await t.hub.db
          .knex("cloud_boxes")
          .join("agents", "agents.id", "cloud_boxes.agent_id")
          .where("agents.status", "connected")
          .select("cloud_boxes.id", "cloud_boxes.serial_number");
        return rows.length === BOXES ? rows : undefined;
      },
      180_000,
      250,
    ).then((rows: { id: string; serial_number: string }[]) => {
      for (const r of rows) stateDirOf.set(r.id, boxes[Number(r.serial_number.replace("FW-BOX-", ""))]!.stateDir);
    });
  });
  after(async () => {
    await inParallel(boxes, 10, (b) => b.dispose());
    await t?.stop();
  });

  const upload = async (version: string, healthExit: number) => {
    const r = await uploadFirmware(t.baseUrl, version, firmwareImage(version, healthExit), { token });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body as { id: string; sha256: string };
  };

  /** Waits until every box of the rollout reported (the rollout completed) and returns it. */
  const finished = (id: string): Promise<FirmwareRollout> =>
    waitFor(
      `rollout ${id} completed`,
      async () => {
        const { rollout } = await fw().getFirmwareRollout({ id });
        return rollout!.status === FirmwareRolloutStatus.COMPLETED ? rollout : undefined;
      },
      180_000,
      250,
    );

  const boxIdsOf = (r: FirmwareRollout) => r.boxes.map((b) => b.boxId);
  const failureLog = (r: FirmwareRollout) =>
    JSON.stringify(r.boxes.map((b) => ({ box: b.boxId, status: BoxStatus[b.status], detail: b.detail })));

  it("a good image goes to a 10 % canary, then to all: the canary is kept, every box runs it from slot b", async () => {
    const good = await upload("1.1.0", 0);
    const { rollout: canary } = await fw().createFirmwareRollout({ firmwareVersionId: good.id, percentage: 10 });
    expect(canary!.boxes).to.have.length(1);
    const canaryDone = await finished(canary!.id);
    expect(
      canaryDone.boxes.map((b) => b.status),
      failureLog(canaryDone),
    ).to.deep.equal([BoxStatus.INSTALLED]);
    const [canaryBox] = boxIdsOf(canaryDone);
    expect(pointerOf(stateDirOf.get(canaryBox!)!)).to.deep.equal({ active: "b", previous: "a", trial: false });
    // Nobody else took it yet.
    const others = [...stateDirOf.keys()].filter((id) => id !== canaryBox);
    for (const id of others) expect(manifestOf(stateDirOf.get(id)!, "b"), id).to.equal(undefined);

    const { rollout: all } = await fw().createFirmwareRollout({ firmwareVersionId: good.id, percentage: 100 });
    expect(boxIdsOf(all!)).to.have.members(others);
    const allDone = await finished(all!.id);
    expect(
      allDone.boxes.every((b) => b.status === BoxStatus.INSTALLED && b.activeSlot === "b"),
      failureLog(allDone),
    ).to.equal(true);
    for (const [id, dir] of stateDirOf) {
      expect(pointerOf(dir), id).to.deep.include({ active: "b", trial: false });
      expect(manifestOf(dir, "b")?.version, id).to.equal("1.1.0");
    }
    const versions = await t.hub.db.knex("cloud_boxes").distinct("firmware_version");
    expect(versions).to.deep.equal([{ firmware_version: "1.1.0" }]);
  });

  it("a bad image (its health check fails) is rolled back on every box that took it", async () => {
    const bad = await upload("1.2.0", 1);
    const { rollout } = await fw().createFirmwareRollout({
      firmwareVersionId: bad.id,
      percentage: 100,
      healthDeadlineMs: 30_000,
    });
    expect(rollout!.boxes).to.have.length(BOXES);
    const done = await finished(rollout!.id);
    expect(
      done.boxes.every((b) => b.status === BoxStatus.ROLLED_BACK && b.activeSlot === "b"),
      failureLog(done),
    ).to.equal(true);
    for (const b of done.boxes) expect(b.detail).to.match(/code 1/);
    for (const [id, dir] of stateDirOf) {
      // Back on the slot it came from, the bad image still in the other slot (it was installed, then left).
      expect(pointerOf(dir), id).to.deep.equal({ active: "b", previous: "a", trial: false });
      expect(manifestOf(dir, "b")?.version, id).to.equal("1.1.0");
      expect(manifestOf(dir, "a")?.version, id).to.equal("1.2.0");
    }
    const versions = await t.hub.db.knex("cloud_boxes").distinct("firmware_version");
    expect(versions).to.deep.equal([{ firmware_version: "1.1.0" }]);
  });

  it("a download whose bytes changed in the hub's store after signing is refused before install; slots untouched", async () => {
    const v = await upload("1.3.0", 0);
    // Tamper with the stored file (same size): the hub serves it, the box must catch it.
    const stored = path.join(t.config.dataDir, "firmware", "sha256", v.sha256.slice(0, 2), v.sha256);
    const bytes = fs.readFileSync(stored);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01;
    fs.writeFileSync(stored, bytes);
    expect(sha256(bytes)).to.not.equal(v.sha256);
    const targets = [...stateDirOf.keys()].slice(0, 2);
    const before = targets.map((id) => slotSnapshot(stateDirOf.get(id)!));
    const { rollout } = await fw().createFirmwareRollout({ firmwareVersionId: v.id, boxIds: targets });
    const done = await finished(rollout!.id);
    expect(
      done.boxes.every((b) => b.status === BoxStatus.REFUSED),
      failureLog(done),
    ).to.equal(true);
    for (const b of done.boxes) expect(b.detail).to.match(/^sha256 mismatch/);
    expect(targets.map((id) => slotSnapshot(stateDirOf.get(id)!))).to.deep.equal(before);
    // Nothing left behind in the download area either.
    for (const id of targets)
      expect(fs.readdirSync(path.join(stateDirOf.get(id)!, "firmware-download"))).to.deep.equal([]);
  });

  it("a payload whose signature is not the hub's key is refused before install; slots untouched", async () => {
    const v = await upload("1.4.0", 0);
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const forged = sign(null, Buffer.from(v.sha256, "hex"), stranger).toString("base64");
    await t.hub.db.knex("firmware_versions").where({ id: v.id }).update({ signature: forged });
    const [target] = [...stateDirOf.keys()].slice(-1);
    const before = slotSnapshot(stateDirOf.get(target!)!);
    const { rollout } = await fw().createFirmwareRollout({ firmwareVersionId: v.id, boxIds: [target!] });
    const done = await finished(rollout!.id);
    expect(done.boxes[0]!.status, failureLog(done)).to.equal(BoxStatus.REFUSED);
    expect(done.boxes[0]!.detail).to.match(/^signature mismatch/);
    expect(slotSnapshot(stateDirOf.get(target!)!)).to.deep.equal(before);
  });
});
