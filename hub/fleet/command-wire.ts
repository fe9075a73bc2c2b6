import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import {
  CommandPayloadSchema,
  CommandResultSchema,
  type CommandPayload,
  type CommandResult,
} from "../../gen/edgehub/common/v1/command_pb.js";
import { InvalidArgumentError } from "../domain/errors.js";

// Commands are stored as protobuf JSON (jsonb) and travel typed: the admin API and the agent
// stream convert here, the store never sees generated types.

/** The payload's kind as stored (the oneof field's proto name, e.g. "collect_inventory") and its JSON. */
export function payloadToStore(field: string, payload: CommandPayload | undefined): { kind: string; json: JsonValue } {
  const kind = payload?.kind.case;
  if (!payload || kind === undefined)
    throw new InvalidArgumentError(field, "must set one command kind (echo, collect_inventory, …)");
  const name = CommandPayloadSchema.fields.find((f) => f.localName === kind)!.name;
  return { kind: name, json: toJson(CommandPayloadSchema, payload) };
}

export function payloadFromStore(json: unknown): CommandPayload {
  return fromJson(CommandPayloadSchema, (json ?? {}) as JsonValue, { ignoreUnknownFields: true });
}

export function resultToStore(result: CommandResult | undefined): JsonValue | null {
  return result && result.kind.case !== undefined ? toJson(CommandResultSchema, result) : null;
}

export function resultFromStore(json: unknown): CommandResult | undefined {
  return json === null || json === undefined
    ? undefined
    : fromJson(CommandResultSchema, json as JsonValue, { ignoreUnknownFields: true });
}
