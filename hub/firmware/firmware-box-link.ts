import { create } from "@bufbuild/protobuf";
import { FirmwareInstallOutcome } from "../../gen/edgehub/common/v1/cloudbox_pb.js";
import { CommandPayloadSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { payloadToStore, resultFromStore } from "../fleet/command-wire.js";
import { FETCH_FIRMWARE_PATH } from "./firmware-content-grpc.js";
import type { RolloutBoxStatus } from "./firmware-rollout-store.js";
import type { FirmwareVersion } from "./firmware-version-store.js";

// The hub's side of the install_firmware contract (proto/edgehub/common/v1/cloudbox.proto): the
// payload a box gets and the outcome its result means. The only place here that sees gen/ types.

/** The stored form (kind + protobuf JSON) of install_firmware for `version`. */
export function installFirmwareCommand(version: FirmwareVersion, healthDeadlineMs: number) {
  return payloadToStore(
    "payload",
    create(CommandPayloadSchema, {
      kind: {
        case: "installFirmware",
        value: {
          firmwareVersionId: version.id,
          version: version.version,
          url: FETCH_FIRMWARE_PATH,
          sha256: version.sha256,
          sizeBytes: BigInt(version.sizeBytes),
          signature: version.signature,
          healthDeadlineMs,
        },
      },
    }),
  );
}

/** What a box's command says about its install; undefined while it is not finished. */
export function outcomeOf(row: {
  command_state: string | null;
  command_result: unknown;
  command_error: string | null;
}): { status: RolloutBoxStatus; detail: string; activeSlot: string } | undefined {
  switch (row.command_state) {
    case null:
      return { status: "failed", detail: "The install command is gone from the hub's queue", activeSlot: "" };
    case "queued":
    case "delivered":
      return undefined;
    case "running":
      return { status: "downloading", detail: "", activeSlot: "" };
    case "succeeded": {
      const result = resultFromStore(row.command_result);
      if (result?.kind.case !== "firmwareInstall")
        return { status: "failed", detail: "The box answered without a firmware install result", activeSlot: "" };
      const r = result.kind.value;
      const status: RolloutBoxStatus | undefined =
        r.outcome === FirmwareInstallOutcome.INSTALLED
          ? "installed"
          : r.outcome === FirmwareInstallOutcome.ROLLED_BACK
            ? "rolled_back"
            : r.outcome === FirmwareInstallOutcome.REFUSED
              ? "refused"
              : undefined;
      if (!status)
        return { status: "failed", detail: `The box reported an unknown outcome ${r.outcome}`, activeSlot: "" };
      return {
        status,
        detail: r.detail.slice(0, 4096),
        activeSlot: ["a", "b"].includes(r.activeSlot) ? r.activeSlot : "",
      };
    }
    default:
      // failed, cancelled, expired
      return {
        status: "failed",
        detail: `The install command ${row.command_state}: ${row.command_error ?? ""}`.slice(0, 4096),
        activeSlot: "",
      };
  }
}
