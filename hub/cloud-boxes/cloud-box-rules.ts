import { InvalidArgumentError } from "../domain/errors.js";
import type { CloudBox } from "./cloud-box.js";

// Input rules of the cloud box API, checked at the edge before anything is written.

const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
export const MAX_TAGS = 32;
/** Boxes per BindCloudBoxes / UnbindCloudBoxes call: a classroom or a floor, not the fleet. */
export const MAX_BOXES_PER_CALL = 500;

export function validTags(field: string, tags: Record<string, string>): Record<string, string> {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw new InvalidArgumentError(field, `must hold at most ${MAX_TAGS} tags`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!TAG_KEY.test(k))
      throw new InvalidArgumentError(
        `${field}[${JSON.stringify(k)}]`,
        "keys must be 1 to 63 letters, digits, '.', '_', '/' or '-', starting with a letter or digit",
      );
    if (v.length > 256)
      throw new InvalidArgumentError(`${field}[${JSON.stringify(k)}]`, "must be at most 256 characters");
    out[k] = v;
  }
  return out;
}

export function validTagKey(field: string, key: string): string {
  if (!TAG_KEY.test(key))
    throw new InvalidArgumentError(field, "must be a tag key (letters, digits, '.', '_', '/', '-')");
  return key;
}

/** What an etag covers: the fields people set and the status, not the metrics that change every sample. */
export function editableView(b: CloudBox) {
  return {
    id: b.id,
    name: b.name,
    location: b.location,
    tags: b.tags,
    assignedUserId: b.assignedUserId,
    status: b.status,
  };
}
