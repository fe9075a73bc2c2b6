import type { DescField } from "@bufbuild/protobuf";

/**
 * One documented size limit per kind of field (issue 11 #7), checked by the request-text
 * interceptor before any handler or database work. Strings are measured in characters (UTF-16
 * code units, as JavaScript and the protobuf runtime count them).
 *
 * | kind | fields (by the proto field name's last words) | limit |
 * |---|---|---|
 * | name / identifier (default) | names, ids, usernames, versions, tags, hostnames, … | 128 |
 * | email | `email` | 254 (RFC 5321) |
 * | location | `location` | 256 |
 * | path | `path`, `file_path` | 1 024 |
 * | secret | `password`, `current_password`, `new_password` | 1 024 |
 * | page token | `page_token` | 2 048 |
 * | free text | `description`, `changelog`, `release_notes`, `message`, `reason`, `last_error` | 4 096 |
 * | cloud-init | `user_data`, `user_data_append` | 16 384 |
 * | lists and maps | any repeated or map field | 100 entries |
 * | stated lists | `user_ids` (group membership in bulk) | 1 000 entries |
 */
export const NAME_MAX = 128;

const STRING_LIMITS: readonly [RegExp, number][] = [
  [/(^|_)email$/, 254],
  [/(^|_)location$/, 256],
  [/(^|_)path$/, 1024],
  [/(^|_)password$/, 1024],
  [/^page_token$/, 2048],
  [/(^|_)(description|changelog|release_notes|message|reason|last_error)$/, 4096],
  [/^user_data(_append)?$/, 16_384],
];

const ENTRY_LIMITS: readonly [RegExp, number][] = [[/^user_ids$/, 1000]];
export const ENTRIES_MAX = 100;

export function maxLengthOf(field: DescField): number {
  return STRING_LIMITS.find(([re]) => re.test(field.name))?.[1] ?? NAME_MAX;
}

export function maxEntriesOf(field: DescField): number {
  return ENTRY_LIMITS.find(([re]) => re.test(field.name))?.[1] ?? ENTRIES_MAX;
}

/** How input appears inside an error message: at most 64 characters of it, quoted. */
export function quotedInput(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
