import type { JsonValue } from "@bufbuild/protobuf";
import Table from "cli-table3";
import { ageText } from "./age-text.js";
import { shortEnumName } from "./enum-value.js";
import type { Column } from "./kind-columns.js";

const BORDERLESS = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "   ",
};

function cellText(column: Column, value: JsonValue | undefined, now: Date): string {
  if (value === undefined || value === null) return "";
  const f = column.field;
  if (column.age && typeof value === "string") return ageText(new Date(value), now);
  if (f.fieldKind === "enum" && typeof value === "string") return shortEnumName(f.enum, value);
  if (f.fieldKind === "list" && Array.isArray(value)) {
    return value
      .map((v) => (f.listKind === "enum" && typeof v === "string" ? shortEnumName(f.enum, v) : String(v)))
      .join(",");
  }
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Rows of a table (no header), from resources in proto JSON. */
export function tableRows(
  columns: readonly Column[],
  rows: readonly Record<string, JsonValue>[],
  now = new Date(),
): string[][] {
  const valueOf = (c: Column, row: Record<string, JsonValue>) => {
    const holder = c.parent ? row[c.parent] : row;
    return holder && typeof holder === "object" && !Array.isArray(holder) ? holder[c.field.jsonName] : undefined;
  };
  return rows.map((row) => columns.map((c) => cellText(c, valueOf(c, row), now)));
}

/** A kubectl-style table: upper-case headers, no borders, columns padded. */
export function renderTable(headers: readonly string[], rows: readonly string[][]): string {
  const table = new Table({
    head: [...headers],
    chars: BORDERLESS,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
  table.push(...rows.map((r) => [...r]));
  return (
    table
      .toString()
      .split("\n")
      .map((l) => l.trimEnd())
      .join("\n") + "\n"
  );
}
