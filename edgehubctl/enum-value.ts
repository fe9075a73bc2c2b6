import type { DescEnum } from "@bufbuild/protobuf";
import { UsageError } from "./usage-error.js";

/** The short names people type: USER_STATUS_ACTIVE → "active" (UNSPECIFIED left out). */
export function enumChoices(desc: DescEnum): string[] {
  return desc.values.filter((v) => v.number !== 0).map((v) => shortEnumName(desc, v.name).toLowerCase());
}

/** USER_STATUS_ACTIVE → ACTIVE. */
export function shortEnumName(desc: DescEnum, name: string): string {
  const prefix = (desc.sharedPrefix ?? "").toUpperCase();
  return prefix && name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** The JSON name of the value `input` names: "active", "ACTIVE", "USER_STATUS_ACTIVE", "1". */
export function enumJsonName(desc: DescEnum, input: string, flag: string): string {
  const wanted = input.trim().replace(/-/g, "_").toUpperCase();
  const value = desc.values.find(
    (v) => v.name === wanted || shortEnumName(desc, v.name) === wanted || String(v.number) === wanted,
  );
  if (!value) throw new UsageError(`Invalid value for ${flag}: "${input}" (one of ${enumChoices(desc).join(", ")})`);
  return value.name;
}
