import { ScalarType, type DescField, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { Option, type Command } from "commander";
import YAML from "yaml";
import { enumChoices, enumJsonName } from "./enum-value.js";
import { kebabCase } from "./kebab-case.js";
import { KIND_ALIASES } from "./kind-aliases.js";
import { UsageError } from "./usage-error.js";

/** A command-line option generated from a message field. */
export interface FieldOption {
  readonly field: DescField;
  readonly flags: readonly string[];
  /** Commander's attribute names of the option (and of its friendly alias, when there is one). */
  readonly attributes: readonly string[];
}

const NUMERIC_64 = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);

function valueHint(field: DescField): string {
  if (field.fieldKind === "enum") return enumChoices(field.enum).join("|");
  if (field.fieldKind === "message") return field.message.typeName.startsWith("google.protobuf.") ? "value" : "yaml";
  if (field.fieldKind === "list") return "values...";
  if (field.fieldKind === "map") return "yaml";
  return field.scalar === ScalarType.STRING ? "text" : "n";
}

function describe(field: DescField): string {
  const kind =
    field.fieldKind === "message" && !field.message.typeName.startsWith("google.protobuf.")
      ? ` (${field.message.name} as YAML/JSON)`
      : "";
  return `${field.name}${kind}`;
}

/** `--site` for edge_data_center_id, `--pool` for compute_pool_id: the kind's friendly alias. */
function friendlyFlag(field: DescField): string | undefined {
  const m = /^(\w+)_id$/.exec(field.name);
  const alias = m ? KIND_ALIASES[kebabCase(m[1]!)]?.[0] : undefined;
  return alias ? `--${alias}` : undefined;
}

/**
 * Adds one option per field of `message` (minus `skip` and flags the command already has):
 * `--display-name <text>`, enums as their short names, messages as YAML, lists variadic.
 */
export function addFieldOptions(
  cmd: Command,
  message: DescMessage,
  skip: ReadonlySet<string> = new Set(),
): FieldOption[] {
  const taken = new Set(cmd.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
  const out: FieldOption[] = [];
  for (const field of message.fields) {
    if (skip.has(field.name) || (field.oneof !== undefined && field.fieldKind === "message")) continue;
    const flag = `--${kebabCase(field.name)}`;
    if (taken.has(flag)) continue;
    const isBool = field.fieldKind === "scalar" && field.scalar === ScalarType.BOOL;
    const option = new Option(isBool ? `${flag} [true|false]` : `${flag} <${valueHint(field)}>`, describe(field));
    cmd.addOption(option);
    taken.add(flag);
    const attributes = [option.attributeName()];
    const friendly = friendlyFlag(field);
    if (friendly && !taken.has(friendly)) {
      const alias = new Option(`${friendly} <id>`, `same as ${flag}`);
      cmd.addOption(alias);
      taken.add(friendly);
      attributes.push(alias.attributeName());
    }
    out.push({ field, flags: [flag, ...(friendly ? [friendly] : [])], attributes });
  }
  return out;
}

function scalarValue(field: DescField, scalar: ScalarType, raw: unknown, flag: string): unknown {
  const text = String(raw);
  if (scalar === ScalarType.STRING) return text;
  if (scalar === ScalarType.BYTES) return text;
  if (scalar === ScalarType.BOOL) {
    if (raw === true || /^(true|yes|1)$/i.test(text)) return true;
    if (/^(false|no|0)$/i.test(text)) return false;
    throw new UsageError(`Invalid value for ${flag}: "${text}" (true or false)`);
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text))
    throw new UsageError(`Invalid value for ${flag}: "${text}" is not a number`);
  return NUMERIC_64.has(scalar) ? text : Number(text);
}

function jsonValue(field: DescField, raw: unknown, flag: string): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return scalarValue(field, field.scalar, raw, flag);
    case "enum":
      return enumJsonName(field.enum, String(raw), flag);
    case "message":
      return field.message.typeName.startsWith("google.protobuf.") ? String(raw) : parseYamlFlag(String(raw), flag);
    case "map":
      return parseYamlFlag(String(raw), flag);
    case "list": {
      const items = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(",")).filter((v) => v !== "");
      if (field.listKind === "scalar") return items.map((v) => scalarValue(field, field.scalar, v, flag));
      if (field.listKind === "enum") return items.map((v) => enumJsonName(field.enum, v, flag));
      return (Array.isArray(raw) ? raw : [raw]).map((v) => parseYamlFlag(String(v), flag));
    }
  }
}

function parseYamlFlag(text: string, flag: string): unknown {
  try {
    return YAML.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`Invalid value for ${flag}: ${(err as Error).message}`);
  }
}

/** The fields given on the command line, as proto JSON keyed by field name, and their paths. */
export function fieldValues(
  options: readonly FieldOption[],
  opts: Record<string, unknown>,
): { json: Record<string, JsonValue>; paths: string[] } {
  const json: Record<string, JsonValue> = {};
  const paths: string[] = [];
  for (const o of options) {
    const attribute = o.attributes.find((a) => opts[a] !== undefined);
    if (!attribute) continue;
    json[o.field.jsonName] = jsonValue(o.field, opts[attribute], o.flags[0]!) as JsonValue;
    paths.push(o.field.name);
  }
  return { json, paths };
}
