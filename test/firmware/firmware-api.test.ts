import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import {
  FirmwareRolloutBoxStatus,
  FirmwareRolloutStatus,
  FirmwareService,
} from "../../gen/edgehub/admin/v1/firmware_pb.js";
import { verifyDigestSignature } from "../../hub/firmware/firmware-signing-key.js";
import { CatalogPeople, counts, PASSWORD } from "../catalog/catalog-fixtures.js";
import { connectErrorOf, errorReasons, violatedFields, walkPages } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { firmwareImage, insertOfflineBox, sha256, uploadFirmware } from "./firmware-support.js";

const TABLES = ["firmware_versions", "firmware_rollouts", "firmware_rollout_boxes", "agent_commands", "audit_log"];

describe("FirmwareService and the firmware upload route (in-process hub, boxes registered but offline)", function () {
  this.timeout(120_000);
  let t: TestHub;
  let token: string;
  const fw = () => t.client(FirmwareService, token);

  before(async () => {
    t = await startTestHub();
    token = await t.adminToken();
  });
  after(async () => t?.stop());

  const knex = () => t.hub.db.knex;
  const upload = async (version: string, healthExit = 0, models?: string) => {
    const r = await uploadFirmware(t.baseUrl, version, firmwareImage(version, healthExit), { token, models });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body as { id: string; sha256: string; signature: string };
  };

  describe("upload", () => {
    it("stores the file, signs its digest with the hub's key, and repeats idempotently", async () => {
      const body = firmwareImage("1.0.0");
      const first = await uploadFirmware(t.baseUrl, "1.0.0", body, { token, models: "eb-100, eb-200" });
      expect(first.status).to.equal(201);
      expect(first.body).to.deep.include({
        version: "1.0.0",
        sha256: sha256(body),
        size_bytes: body.length,
        created: true,
      });
      const { publicKeyPem, fingerprintSha256 } = await fw().getFirmwareSigningKey({});
      expect(fingerprintSha256).to.match(/^[0-9a-f]{64}$/);
      expect(verifyDigestSignature(publicKeyPem, sha256(body), first.body.signature as string)).to.equal(true);
      const again = await uploadFirmware(t.baseUrl, "1.0.0", body, { token });
      expect(again.status).to.equal(200);
      expect(again.body).to.deep.include({ id: first.body.id, created: false });
      const { firmwareVersion } = await fw().getFirmwareVersion({ id: first.body.id as string });
      expect(firmwareVersion).to.deep.include({
        version: "1.0.0",
        models: ["eb-100", "eb-200"],
        sizeBytes: BigInt(body.length),
      });
    });

    it("refuses a version string that is not semver, other bytes under a taken version, a sha mismatch and an oversize body, writing nothing", async () => {
      const people = new CatalogPeople(knex());
      await people.user("fw-operator", "operator", null);
      const operator = await t.login("fw-operator", PASSWORD);
      const before = await counts(knex(), TABLES);
      const body = firmwareImage("9.9.9");
      const cases: [
        string,
        Promise<{ status: number; body: Record<string, unknown> }>,
        number,
        Record<string, unknown>,
      ][] = [
        ["not semver", uploadFirmware(t.baseUrl, "v1.0", body, { token }), 400, { field: "version" }],
        ["leading zero", uploadFirmware(t.baseUrl, "01.0.0", body, { token }), 400, { field: "version" }],
        ["escaped", uploadFirmware(t.baseUrl, "1.0.0%2F..", body, { token }), 400, { field: "version" }],
        ["bad model", uploadFirmware(t.baseUrl, "9.9.9", body, { token, models: "eb 100" }), 400, { field: "models" }],
        ["no sha", uploadFirmware(t.baseUrl, "9.9.9", body, { token, sha256: "" }), 400, { field: "X-Content-Sha256" }],
        [
          "sha mismatch",
          uploadFirmware(t.baseUrl, "9.9.9", body, { token, sha256: sha256(Buffer.from("other")) }),
          400,
          { field: "sha256" },
        ],
        [
          "taken version",
          uploadFirmware(t.baseUrl, "1.0.0", body, { token }),
          409,
          { reason: "FIRMWARE_VERSION_IMMUTABLE" },
        ],
        [
          "oversize",
          uploadFirmware(t.baseUrl, "9.9.9", body, { token, contentLength: String(2 * 1024 * 1024 * 1024) }),
          413,
          { reason: "CONTENT_TOO_LARGE" },
        ],
        ["no token", uploadFirmware(t.baseUrl, "9.9.9", body, {}), 401, { code: "unauthenticated" }],
      ];
      for (const [name, call, status, fields] of cases) {
        const r = await call;
        expect(r.status, name).to.equal(status);
        expect(r.body, name).to.deep.include(fields);
      }
      expect((await uploadFirmware(t.baseUrl, "9.9.9", body, { token: operator })).status).to.equal(403);
      expect(await counts(knex(), TABLES)).to.deep.equal(before);
    });
  });

  describe("rollouts", () => {
    it("refuses bad targets with the field named and writes nothing", async () => {
      const v = await upload("1.1.0");
      const box = await insertOfflineBox(knex());
      const before = await counts(knex(), TABLES);
      const bad: [Record<string, unknown>, Code, string][] = [
        [{ percentage: 101 }, Code.InvalidArgument, "percentage"],
        [{ boxIds: ["not-a-uuid"] }, Code.InvalidArgument, "box_ids"],
        [{}, Code.InvalidArgument, "box_ids"],
        [{ boxIds: [box], percentage: 10 }, Code.InvalidArgument, "box_ids"],
        [{ tag: "=x" }, Code.InvalidArgument, "tag"],
        [{ boxIds: [box], healthDeadlineMs: 10 }, Code.InvalidArgument, "health_deadline_ms"],
        [{ boxIds: [box], firmwareVersionId: "nope" }, Code.InvalidArgument, "firmware_version_id"],
      ];
      for (const [patch, code, field] of bad) {
        const err = await connectErrorOf(fw().createFirmwareRollout({ firmwareVersionId: v.id, ...patch }));
        expect(err.code, JSON.stringify(patch)).to.equal(code);
        expect(violatedFields(err), JSON.stringify(patch)).to.deep.equal([field]);
      }
      const unknownBox = "0190a000-0000-7000-8000-000000000001";
      const notFound = await connectErrorOf(
        fw().createFirmwareRollout({ firmwareVersionId: v.id, boxIds: [box, unknownBox] }),
      );
      expect(notFound.code).to.equal(Code.NotFound);
      expect(notFound.rawMessage).to.contain(unknownBox);
      const noVersion = await connectErrorOf(
        fw().createFirmwareRollout({ firmwareVersionId: unknownBox, boxIds: [box] }),
      );
      expect(noVersion.code).to.equal(Code.NotFound);
      expect(await counts(knex(), TABLES)).to.deep.equal(before);
    });

    it("refuses boxes of another model, and boxes already running the version are left out", async () => {
      const v = await upload("1.2.0", 0, "eb-200");
      const other = await insertOfflineBox(knex(), { model: "eb-100" });
      const mismatch = await connectErrorOf(fw().createFirmwareRollout({ firmwareVersionId: v.id, boxIds: [other] }));
      expect(mismatch.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(mismatch)).to.deep.equal(["FIRMWARE_MODEL_MISMATCH"]);
      const current = await insertOfflineBox(knex(), { model: "eb-200", firmwareVersion: "1.2.0" });
      const none = await connectErrorOf(fw().createFirmwareRollout({ firmwareVersionId: v.id, boxIds: [current] }));
      expect(errorReasons(none)).to.deep.equal(["NO_BOXES_TO_UPDATE"]);
      const fresh = await insertOfflineBox(knex(), { model: "eb-200", tags: { ring: "lab" } });
      const { rollout } = await fw().createFirmwareRollout({ firmwareVersionId: v.id, tag: "ring=lab" });
      expect(rollout!.boxes.map((b) => b.boxId)).to.deep.equal([fresh]);
      expect(rollout!.boxes[0]!.status).to.equal(FirmwareRolloutBoxStatus.PENDING);
      const command = await knex()("agent_commands").where({ id: rollout!.boxes[0]!.commandId }).first();
      expect(command).to.deep.include({ kind: "install_firmware", state: "queued" });
      expect(command.payload.installFirmware).to.deep.include({
        version: "1.2.0",
        sha256: (await fw().getFirmwareVersion({ id: v.id })).firmwareVersion!.sha256,
      });
      await fw().cancelFirmwareRollout({ id: rollout!.id });
    });

    it("two rollouts racing for one box: exactly one takes it, the other is refused (BOX_FIRMWARE_BUSY)", async () => {
      const a = await upload("2.0.0");
      const b = await upload("2.0.1");
      const box = await insertOfflineBox(knex());
      const results = await Promise.allSettled([
        fw().createFirmwareRollout({ firmwareVersionId: a.id, boxIds: [box] }),
        fw().createFirmwareRollout({ firmwareVersionId: b.id, boxIds: [box] }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1);
      const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      const err = await connectErrorOf(Promise.reject(lost.reason));
      expect(err.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(err)).to.deep.equal(["BOX_FIRMWARE_BUSY"]);
      const unfinished = await knex()("firmware_rollout_boxes")
        .where({ box_id: box })
        .whereIn("status", ["pending", "downloading"]);
      expect(unfinished).to.have.length(1);
      const won = (
        results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<{ rollout?: { id: string } }>
      ).value;
      await fw().cancelFirmwareRollout({ id: won.rollout!.id });
    });

    it("a version in an unfinished rollout cannot be deleted; cancelling withdraws the queued commands, then it can", async () => {
      const v = await upload("3.0.0");
      const box = await insertOfflineBox(knex());
      const { rollout } = await fw().createFirmwareRollout({ firmwareVersionId: v.id, boxIds: [box] });
      const err = await connectErrorOf(fw().deleteFirmwareVersion({ id: v.id }));
      expect(err.code).to.equal(Code.FailedPrecondition);
      expect(errorReasons(err)).to.deep.equal(["FIRMWARE_VERSION_IN_ROLLOUT"]);
      const { rollout: cancelled } = await fw().cancelFirmwareRollout({ id: rollout!.id });
      expect(cancelled!.status).to.equal(FirmwareRolloutStatus.CANCELLED);
      expect(cancelled!.boxes[0]!.status).to.equal(FirmwareRolloutBoxStatus.CANCELLED);
      const command = await knex()("agent_commands").where({ id: cancelled!.boxes[0]!.commandId }).first("state");
      expect(command.state).to.equal("cancelled");
      const again = await connectErrorOf(fw().cancelFirmwareRollout({ id: rollout!.id }));
      expect(errorReasons(again)).to.deep.equal(["ROLLOUT_FINISHED"]);
      const { firmwareVersion } = await fw().deleteFirmwareVersion({ id: v.id });
      expect(firmwareVersion!.status).to.equal(2);
      expect((await connectErrorOf(fw().getFirmwareVersion({ id: v.id }))).code).to.equal(Code.NotFound);
      // The version string is free again.
      await upload("3.0.0", 1);
    });

    it("lists versions and rollouts newest first, page by page", async () => {
      const versions = await walkPages(async (pageSize, pageToken) => {
        const r = await fw().listFirmwareVersions({ pageSize, pageToken });
        return { items: r.firmwareVersions, nextPageToken: r.nextPageToken };
      }, 2);
      expect(versions.length).to.be.at.least(5);
      const rollouts = await walkPages(async (pageSize, pageToken) => {
        const r = await fw().listFirmwareRollouts({ pageSize, pageToken, status: FirmwareRolloutStatus.CANCELLED });
        return { items: r.rollouts, nextPageToken: r.nextPageToken };
      }, 1);
      expect(rollouts.length).to.equal(3);
      expect((await connectErrorOf(fw().listFirmwareRollouts({ pageToken: "garbage" }))).code).to.equal(
        Code.InvalidArgument,
      );
    });

    it("only admins and operators see firmware; only admins delete it", async () => {
      const people = new CatalogPeople(knex());
      await people.user("fw-user", "user", await people.tenant("fw-tenant"));
      const user = t.client(FirmwareService, await t.login("fw-user", PASSWORD));
      expect((await connectErrorOf(user.listFirmwareVersions({}))).code).to.equal(Code.PermissionDenied);
      const operator = t.client(FirmwareService, await t.login("fw-operator", PASSWORD));
      const { firmwareVersions } = await operator.listFirmwareVersions({});
      expect((await connectErrorOf(operator.deleteFirmwareVersion({ id: firmwareVersions[0]!.id }))).code).to.equal(
        Code.PermissionDenied,
      );
    });
  });
});
