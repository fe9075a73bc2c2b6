import type { DescField, DescMessage, JsonValue, Message } from "@bufbuild/protobuf";

/** Fields a person never sets on create or update: set by the hub (by name, as the API conventions fix them). */
export const OUTPUT_ONLY =
  /^(id|etag|create_time|update_time|revoke_time|finish_time|last_heartbeat_time|created_by|updated_by|creator_id|updater_id|owner_id|status|state|use_count|delivery_count)$/;

/** The field of `message` that holds a `resource` (CreateImageRequest.image), if it wraps one. */
export function wrapperField(message: DescMessage, resource: DescMessage): DescField | undefined {
  return message.fields.find((f) => f.fieldKind === "message" && f.message.typeName === resource.typeName);
}

/** The resource inside a response: its field of the resource type, or the first list of them. */
export function resourcesIn(response: Message, output: DescMessage, resource: DescMessage): Message[] {
  const record = response as unknown as Record<string, unknown>;
  for (const f of output.fields) {
    if (f.fieldKind === "message" && f.message.typeName === resource.typeName && record[f.localName])
      return [record[f.localName] as Message];
    if (f.fieldKind === "list" && f.listKind === "message" && f.message.typeName === resource.typeName)
      return record[f.localName] as Message[];
  }
  return [];
}

/** A JSON object's key for a field, accepting the proto name or the JSON name. */
export function jsonKeyOf(doc: Record<string, JsonValue>, field: DescField): string | undefined {
  if (field.jsonName in doc) return field.jsonName;
  if (field.name in doc) return field.name;
  return undefined;
}
