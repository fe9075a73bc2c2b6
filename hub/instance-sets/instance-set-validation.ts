import { requireId } from "../api/resource-id.js";
import { quotedInput } from "../api/size-limits.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { validName } from "../identity/identity-rules.js";

/** How many items one batch call takes (a class of 500, a member list of 1 000). */
export const MAX_BATCH_STUDENTS = 500;
export const MAX_BATCH_ITEMS = 1000;
const MAX_TAGS = 32;
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,62}$/;
const MAX_TAG_VALUE = 256;
const MAX_DESCRIPTION = 1024;

export function validSetName(field: string, value: string): string {
  return validName(field, value, 64);
}

export function validDescription(field: string, value: string): string {
  const v = value.trim();
  if (v.length > MAX_DESCRIPTION)
    throw new InvalidArgumentError(field, `must be at most ${MAX_DESCRIPTION} characters`);
  return v;
}

/** Tags (000 §2.2 "标签和元数据"): at most 32, keys like labels, values up to 256 characters. */
export function validTags(field: string, tags: Record<string, string>): Record<string, string> {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw new InvalidArgumentError(field, `must have at most ${MAX_TAGS} entries`);
  for (const [k, v] of entries) {
    if (!TAG_KEY.test(k))
      throw new InvalidArgumentError(
        `${field}[${quotedInput(k)}]`,
        "the key must be 1-63 letters, digits, '.', '_', ':', '/' or '-', starting with a letter or digit",
      );
    if (v.length > MAX_TAG_VALUE)
      throw new InvalidArgumentError(
        `${field}[${quotedInput(k)}]`,
        `the value must be at most ${MAX_TAG_VALUE} characters`,
      );
  }
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A list of ids for a batch: present, at most `max`, each a UUID, none twice. */
export function validIdList(
  field: string,
  ids: readonly string[],
  max: number,
  options: { allowEmpty: boolean; itemField?: (i: number) => string },
) {
  if (ids.length === 0 && !options.allowEmpty) throw new InvalidArgumentError(field, "must name at least one");
  if (ids.length > max) throw new InvalidArgumentError(field, `must have at most ${max} entries, got ${ids.length}`);
  const itemField = options.itemField ?? ((i: number) => `${field}[${i}]`);
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    requireId(itemField(i), id);
    if (seen.has(id)) throw new InvalidArgumentError(itemField(i), `names ${id} twice`);
    seen.add(id);
  });
  return [...ids];
}
