import { toJson, type DescMessage, type JsonValue, type Message, type Registry } from "@bufbuild/protobuf";
import YAML from "yaml";
import { kindColumns } from "./kind-columns.js";
import { renderTable, tableRows } from "./resource-table.js";
import { UsageError } from "./usage-error.js";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string): OutputFormat {
  const format = OUTPUT_FORMATS.find((f) => f === value);
  if (!format) throw new UsageError(`Invalid value for --output: "${value}" (one of ${OUTPUT_FORMATS.join(", ")})`);
  return format;
}

/** proto JSON of a message; `all` includes fields at their defaults (tables show them). */
export function messageJson(
  schema: DescMessage,
  message: Message,
  registry: Registry,
  all = false,
): Record<string, JsonValue> {
  return toJson(schema, message, { registry, alwaysEmitImplicit: all }) as Record<string, JsonValue>;
}

/**
 * Renders resources: a table (header + rows), or proto JSON/YAML — one object for a single
 * resource (what `create -f`/`update -f` read back), an array for a list.
 */
export function renderMessages(
  schema: DescMessage,
  messages: readonly Message[],
  format: OutputFormat,
  registry: Registry,
  single: boolean,
): string {
  if (format === "json" || format === "yaml") {
    const docs = messages.map((m) => messageJson(schema, m, registry));
    const value = single ? (docs[0] ?? {}) : docs;
    return format === "json" ? JSON.stringify(value, null, 2) + "\n" : YAML.stringify(value);
  }
  const columns = kindColumns(schema, format === "wide");
  const rows = tableRows(
    columns,
    messages.map((m) => messageJson(schema, m, registry, true)),
  );
  return renderTable(
    columns.map((c) => c.header),
    rows,
  );
}
