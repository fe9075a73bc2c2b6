import { ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { Interceptor } from "@connectrpc/connect";
import { InvalidArgumentError } from "../domain/errors.js";
import { maxEntriesOf, maxLengthOf } from "./size-limits.js";

/** C0 controls and DEL, but tab, line feed and carriage return, which free text may keep. */
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
/** Any C0 control or DEL: never in a name. */
const CONTROL_IN_NAME = /[\u0000-\u001f\u007f]/;
/** Bidirectional overrides and isolates: they make a name display as something it is not. */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;
/**
 * Fields that name or identify something (shown in lists, compared, used in paths) by the proto
 * field name's last word; everything else is free text.
 */
const NAME_FIELD =
  /(^|_)(name|username|hostname|tenant|version|version_number|key|tag|tags|label|labels|serial|serial_number|email|code|model|pool|path|role|kind)$/;

export type TextKind = "name" | "text";

export function textKindOf(field: DescField): TextKind {
  return NAME_FIELD.test(field.name) ? "name" : "text";
}

/** Why `value` is refused for a field of `kind`, or undefined. */
export function textViolation(value: string, kind: TextKind): string | undefined {
  if (value.includes("\u0000")) return "must not contain NUL characters";
  if (kind === "name") {
    if (CONTROL_IN_NAME.test(value)) return "must not contain control characters";
    if (BIDI_CONTROL.test(value)) return "must not contain bidirectional override characters";
  } else if (CONTROL_IN_TEXT.test(value)) {
    return "must not contain control characters other than tab and line breaks";
  }
  return undefined;
}

interface Rules {
  /** The admin API's size limits (size-limits.ts); the agent protocol keeps its own message cap. */
  sizes: boolean;
}

function check(value: string, field: DescField, path: string, rules: Rules): void {
  const max = maxLengthOf(field);
  if (rules.sizes && value.length > max)
    throw new InvalidArgumentError(path, `must be at most ${max} characters (got ${value.length})`);
  const why = textViolation(value, textKindOf(field));
  if (why) throw new InvalidArgumentError(path, why);
}

function checkEntries(count: number, field: DescField, path: string, rules: Rules): void {
  const max = maxEntriesOf(field);
  if (rules.sizes && count > max)
    throw new InvalidArgumentError(path, `must have at most ${max} entries (got ${count})`);
}

/** Walks every string in a message (nested messages, lists, map keys and values). */
function checkMessage(msg: ReflectMessage, prefix: string, rules: Rules): void {
  for (const field of msg.fields) {
    if (!msg.isSet(field)) continue;
    const path = prefix + field.name;
    switch (field.fieldKind) {
      case "scalar":
        if (field.scalar === ScalarType.STRING) check(msg.get(field) as string, field, path, rules);
        break;
      case "message":
        checkMessage(msg.get(field) as ReflectMessage, `${path}.`, rules);
        break;
      case "list":
        checkEntries((msg.get(field) as { size: number }).size, field, path, rules);
        for (const item of msg.get(field) as Iterable<unknown>) {
          if (field.listKind === "message") checkMessage(item as ReflectMessage, `${path}.`, rules);
          else if (field.scalar === ScalarType.STRING) check(item as string, field, path, rules);
        }
        break;
      case "map":
        checkEntries((msg.get(field) as { size: number }).size, field, path, rules);
        for (const [key, value] of msg.get(field) as Iterable<[unknown, unknown]>) {
          if (typeof key === "string") check(key, field, path, rules);
          if (field.mapKind === "message") checkMessage(value as ReflectMessage, `${path}.`, rules);
          else if (typeof value === "string") check(value, field, path, rules);
        }
        break;
      case "enum":
        break;
    }
  }
}

/**
 * Refuses a request carrying NUL, control or (in names) bidi-override characters, or a string, list
 * or map over its size limit (size-limits.ts); `field` names where.
 */
export function checkRequestText(schema: DescMessage, message: Message): void {
  checkMessage(reflect(schema, message), "", { sizes: true });
}

/**
 * The character rule alone, for the agent protocol (Enroll, every stream message): text an agent
 * sends is stored (hostnames, versions, inventories, command errors), and PostgreSQL refuses NUL.
 * Sizes are bounded there by the endpoint's message cap, not per field.
 */
export function checkAgentText(schema: DescMessage, message: Message, prefix = ""): void {
  checkMessage(reflect(schema, message), prefix, { sizes: false });
}

/**
 * The text rule of the whole admin API, applied before any handler: such characters never reach
 * PostgreSQL (which refuses NUL with an error) nor a person's screen. Unary requests only (the
 * admin API has no client streams).
 */
export function textRulesInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) checkRequestText(req.method.input, req.message);
    return next(req);
  };
}
