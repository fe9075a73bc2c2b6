import { fromJson, type DescMessage, type JsonValue, type Message, type Registry } from "@bufbuild/protobuf";
import { enumJsonName } from "./enum-value.js";
import { UsageError } from "./usage-error.js";

type JsonObject = { [key: string]: JsonValue };

const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Enum values as people write them in files ("operator", "active") turned into their JSON names
 * (ROLE_OPERATOR), through nested messages and lists; an unknown name is a usage error, where
 * fromJson would silently drop it when ignoring unknown fields.
 */
function normalizeEnums(schema: DescMessage, json: JsonObject, path: string): JsonObject {
  const out: JsonObject = { ...json };
  for (const field of schema.fields) {
    const key = field.jsonName in json ? field.jsonName : field.name in json ? field.name : undefined;
    if (key === undefined) continue;
    const value = json[key];
    const where = `${path}${field.name}`;
    if (field.fieldKind === "enum" && typeof value === "string") out[key] = enumJsonName(field.enum, value, where);
    else if (field.fieldKind === "list" && field.listKind === "enum" && Array.isArray(value))
      out[key] = value.map((v) => (typeof v === "string" ? enumJsonName(field.enum, v, where) : v));
    else if (field.fieldKind === "message" && isObject(value) && !field.message.typeName.startsWith("google.protobuf."))
      out[key] = normalizeEnums(field.message, value, `${where}.`);
    else if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value))
      out[key] = value.map((v) => (isObject(v) ? normalizeEnums(field.message, v, `${where}.`) : v));
  }
  return out;
}

/**
 * A request message from proto JSON. Fields the request does not have are ignored (a resource read
 * with `-o json` carries output-only fields); a value of the wrong type is a usage error.
 */
export function requestMessage(schema: DescMessage, json: Record<string, JsonValue>, registry: Registry): Message {
  const normalized = normalizeEnums(schema, json, "");
  try {
    return fromJson(schema, normalized, { registry, ignoreUnknownFields: true });
  } catch (err) {
    throw new UsageError(`Invalid ${schema.name}: ${(err as Error).message}`);
  }
}
