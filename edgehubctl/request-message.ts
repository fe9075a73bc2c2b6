import { fromJson, type DescMessage, type JsonValue, type Message, type Registry } from "@bufbuild/protobuf";
import { UsageError } from "./usage-error.js";

/**
 * A request message from proto JSON. Fields the request does not have are ignored (a resource read
 * with `-o json` carries output-only fields); a value of the wrong type is a usage error.
 */
export function requestMessage(schema: DescMessage, json: Record<string, JsonValue>, registry: Registry): Message {
  try {
    return fromJson(schema, json, { registry, ignoreUnknownFields: true });
  } catch (err) {
    throw new UsageError(`Invalid ${schema.name}: ${(err as Error).message}`);
  }
}
