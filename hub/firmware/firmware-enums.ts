import {
  FirmwareRolloutBoxStatus as BoxPb,
  FirmwareRolloutBoxStatusSchema,
  FirmwareRolloutStatus as RolloutPb,
  FirmwareRolloutStatusSchema,
  FirmwareVersionStatus as VersionPb,
  FirmwareVersionStatusSchema,
} from "../../gen/edgehub/admin/v1/firmware_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The closed vocabularies of firmware versions and rollouts: each wire enum ⇄ the text its column stores.

export const FIRMWARE_VERSION_STATUS = enumMapping(
  FirmwareVersionStatusSchema,
  { [VersionPb.AVAILABLE]: "available", [VersionPb.DELETED]: "deleted" },
  [{ table: "firmware_versions", column: "status" }],
);

export const FIRMWARE_ROLLOUT_STATUS = enumMapping(
  FirmwareRolloutStatusSchema,
  { [RolloutPb.IN_PROGRESS]: "in_progress", [RolloutPb.COMPLETED]: "completed", [RolloutPb.CANCELLED]: "cancelled" },
  [{ table: "firmware_rollouts", column: "status" }],
);

export const FIRMWARE_ROLLOUT_BOX_STATUS = enumMapping(
  FirmwareRolloutBoxStatusSchema,
  {
    [BoxPb.PENDING]: "pending",
    [BoxPb.DOWNLOADING]: "downloading",
    [BoxPb.INSTALLED]: "installed",
    [BoxPb.ROLLED_BACK]: "rolled_back",
    [BoxPb.REFUSED]: "refused",
    [BoxPb.FAILED]: "failed",
    [BoxPb.CANCELLED]: "cancelled",
  },
  [{ table: "firmware_rollout_boxes", column: "status" }],
);
