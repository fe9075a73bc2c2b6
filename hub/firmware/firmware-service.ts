import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import {
  FirmwareRolloutBoxSchema,
  FirmwareRolloutSchema,
  FirmwareService,
  FirmwareVersionSchema,
  type FirmwareRollout as RolloutMessage,
  type FirmwareVersion as VersionMessage,
} from "../../gen/edgehub/admin/v1/firmware_pb.js";
import type { Clock } from "../../lib/clock/clock.js";
import { callerOf } from "../api/caller.js";
import { etagOf } from "../api/etag.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest, type PageRequest } from "../api/page-token.js";
import { isUuid, optionalId, requireId } from "../api/resource-id.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { createFirmwareRollout } from "./create-firmware-rollout.js";
import { FIRMWARE_ROLLOUT_BOX_STATUS, FIRMWARE_ROLLOUT_STATUS, FIRMWARE_VERSION_STATUS } from "./firmware-enums.js";
import { cancelFirmwareRollout, deleteFirmwareVersion } from "./firmware-operations.js";
import { getFirmwareRollout, listFirmwareRollouts, type FirmwareRollout } from "./firmware-rollout-store.js";
import { getFirmwareVersion, listFirmwareVersions, type FirmwareVersion } from "./firmware-version-store.js";

// Firmware runs on every box of the fleet: admins manage it, operators roll it out and watch.
const ADMIN = rolesAllowed("admin");
const ADMIN_OR_OPERATOR = rolesAllowed("admin", "operator");

export const firmwareServicePolicy: ServicePolicy<typeof FirmwareService> = {
  getFirmwareVersion: ADMIN_OR_OPERATOR,
  listFirmwareVersions: ADMIN_OR_OPERATOR,
  deleteFirmwareVersion: ADMIN,
  createFirmwareRollout: ADMIN_OR_OPERATOR,
  getFirmwareRollout: ADMIN_OR_OPERATOR,
  listFirmwareRollouts: ADMIN_OR_OPERATOR,
  cancelFirmwareRollout: ADMIN_OR_OPERATOR,
  getFirmwareSigningKey: ADMIN_OR_OPERATOR,
};

/** Keyset (created_at ISO, id), checked before it reaches SQL. */
function newestFirstPage(pageSize: number, pageToken: string): PageRequest {
  const page = parsePageRequest(pageSize, pageToken, 2);
  if (page.after && (Number.isNaN(Date.parse(page.after[0]!)) || !isUuid(page.after[1]!)))
    throw new InvalidArgumentError("page_token", "is not a token returned by this list");
  return page;
}

function versionMessage(v: FirmwareVersion): VersionMessage {
  return create(FirmwareVersionSchema, {
    id: v.id,
    version: v.version,
    description: v.description,
    sha256: v.sha256,
    sizeBytes: BigInt(v.sizeBytes),
    signature: v.signature,
    models: v.models,
    status: FIRMWARE_VERSION_STATUS.fromDb(v.status),
    createTime: timestampFromDate(v.createdAt),
    updateTime: timestampFromDate(v.updatedAt),
    creatorId: v.createdBy ?? "",
    etag: etagOf(v),
  });
}

function rolloutMessage(r: FirmwareRollout): RolloutMessage {
  return create(FirmwareRolloutSchema, {
    id: r.id,
    firmwareVersionId: r.firmwareVersionId,
    version: r.version,
    boxIds: r.targetBoxIds,
    tag: r.targetTag ?? "",
    percentage: r.targetPercentage ?? 0,
    healthDeadlineMs: r.healthDeadlineMs,
    status: FIRMWARE_ROLLOUT_STATUS.fromDb(r.status),
    boxes: r.boxes.map((b) =>
      create(FirmwareRolloutBoxSchema, {
        boxId: b.boxId,
        status: FIRMWARE_ROLLOUT_BOX_STATUS.fromDb(b.status),
        detail: b.detail,
        activeSlot: b.activeSlot,
        commandId: b.commandId ?? "",
        startTime: b.startedAt ? timestampFromDate(b.startedAt) : undefined,
        finishTime: b.finishedAt ? timestampFromDate(b.finishedAt) : undefined,
        updateTime: timestampFromDate(b.updatedAt),
      }),
    ),
    createTime: timestampFromDate(r.createdAt),
    updateTime: timestampFromDate(r.updatedAt),
    finishTime: r.finishedAt ? timestampFromDate(r.finishedAt) : undefined,
    creatorId: r.createdBy ?? "",
    etag: etagOf(r),
  });
}

export function createFirmwareService(deps: { knex: Knex; clock: Clock }): ServiceImpl<typeof FirmwareService> {
  const { knex, clock } = deps;
  return {
    async getFirmwareVersion(req) {
      return { firmwareVersion: versionMessage(await getFirmwareVersion(knex, requireId("id", req.id))) };
    },
    async listFirmwareVersions(req) {
      const page = await listFirmwareVersions(knex, newestFirstPage(req.pageSize, req.pageToken));
      return { firmwareVersions: page.items.map(versionMessage), nextPageToken: page.nextPageToken };
    },
    async deleteFirmwareVersion(req, ctx) {
      const id = requireId("id", req.id);
      return { firmwareVersion: versionMessage(await deleteFirmwareVersion(knex, callerOf(ctx, clock), id)) };
    },
    async createFirmwareRollout(req, ctx) {
      const rollout = await createFirmwareRollout(knex, callerOf(ctx, clock), {
        firmwareVersionId: req.firmwareVersionId,
        boxIds: req.boxIds,
        tag: req.tag,
        percentage: req.percentage,
        healthDeadlineMs: req.healthDeadlineMs,
      });
      return { rollout: rolloutMessage(rollout) };
    },
    async getFirmwareRollout(req) {
      return { rollout: rolloutMessage(await getFirmwareRollout(knex, requireId("id", req.id))) };
    },
    async listFirmwareRollouts(req) {
      const page = await listFirmwareRollouts(knex, {
        firmwareVersionId: optionalId("firmware_version_id", req.firmwareVersionId),
        status: FIRMWARE_ROLLOUT_STATUS.toDbFilter("status", req.status),
        page: newestFirstPage(req.pageSize, req.pageToken),
      });
      return { rollouts: page.items.map(rolloutMessage), nextPageToken: page.nextPageToken };
    },
    async cancelFirmwareRollout(req, ctx) {
      return {
        rollout: rolloutMessage(await cancelFirmwareRollout(knex, callerOf(ctx, clock), requireId("id", req.id))),
      };
    },
    async getFirmwareSigningKey() {
      const row = await knex("hub_firmware_key")
        .where("id", 1)
        .first<{ public_key_pem: string; fingerprint_sha256: string } | undefined>(
          "public_key_pem",
          "fingerprint_sha256",
        );
      return { publicKeyPem: row?.public_key_pem ?? "", fingerprintSha256: row?.fingerprint_sha256 ?? "" };
    },
  };
}
