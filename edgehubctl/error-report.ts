import { toJson, type Message, type Registry } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";

/** "NotFound" → "not_found": the code as the wire and the docs spell it. */
export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** One line per fact: quota dimensions, requirement shortfalls, anything else as compact JSON. */
function detailLines(detail: Message, registry: Registry): string[] {
  const schema = registry.getMessage(detail.$typeName);
  if (!schema) return [];
  const json = toJson(schema, detail, { registry }) as Record<string, unknown>;
  const rows = Object.values(json).find(
    (v): v is Record<string, unknown>[] => Array.isArray(v) && v.every((x) => typeof x === "object"),
  );
  const name = schema.name;
  if (rows && rows.length > 0) {
    return rows.map(
      (row) =>
        `  ${name}: ${Object.entries(row)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`)
          .join(" ")}`,
    );
  }
  return [`  ${name}: ${JSON.stringify(json)}`];
}

/**
 * The error as people read it: `Error: <code>: <message>`, then each field violation, the
 * ErrorInfo reason, and typed details (QuotaExceeded, RequirementsNotMet…) one per line.
 */
export function errorReport(err: unknown, registry: Registry): string {
  if (err instanceof ConnectError) {
    const lines = [`Error: ${codeName(err.code)}: ${err.rawMessage}`];
    for (const detail of err.findDetails(registry)) {
      if (detail.$typeName === BadRequestSchema.typeName) {
        const bad = detail as Message & { fieldViolations: { field: string; description: string }[] };
        for (const v of bad.fieldViolations) lines.push(`  field ${v.field}: ${v.description}`);
      } else if (detail.$typeName === ErrorInfoSchema.typeName) {
        const info = detail as Message & { reason: string; domain: string; metadata: Record<string, string> };
        const meta = Object.entries(info.metadata)
          .map(([k, v]) => ` ${k}=${v}`)
          .join("");
        lines.push(`  reason: ${info.reason}${meta}`);
      } else {
        lines.push(...detailLines(detail, registry));
      }
    }
    if (err.code === Code.Unauthenticated) lines.push("  Log in again: edgehubctl login");
    return lines.join("\n") + "\n";
  }
  if (err instanceof CommanderError) return "";
  return `Error: ${err instanceof Error ? err.message : String(err)}\n`;
}
