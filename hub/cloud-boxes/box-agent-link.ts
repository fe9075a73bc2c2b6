import { create, type JsonValue } from "@bufbuild/protobuf";
import { CommandPayloadSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { payloadToStore } from "../fleet/command-wire.js";

/** The stored form of a reboot_box command (edgehub/common/v1/cloudbox.proto). */
export function rebootBoxPayload(reason: string): { kind: string; json: JsonValue } {
  return payloadToStore("payload", create(CommandPayloadSchema, { kind: { case: "rebootBox", value: { reason } } }));
}
