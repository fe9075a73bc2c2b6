import type { DescField, DescMessage } from "@bufbuild/protobuf";

/** A table column: a field of the resource, or the age derived from create_time. */
export interface Column {
  readonly header: string;
  readonly field: DescField;
  readonly age?: boolean;
  /** For a column of a nested resource: the JSON name of the field holding it. */
  readonly parent?: string;
}

const NAME_LIKE = /^(name|username|hostname|display_name|version_number|tag|key|action)$/;
const NEVER = /^(etag)$|_by$/;
const DEFAULT_MAX = 6;

function isTimestamp(f: DescField): boolean {
  return f.fieldKind === "message" && f.message.typeName === "google.protobuf.Timestamp";
}

function isPlain(f: DescField): boolean {
  return f.fieldKind === "scalar" || f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind !== "message");
}

/**
 * The columns of a kind, from its message alone: `id`, name-like fields, enums (status, role…),
 * then other short scalars, capped, and AGE from create_time. `wide` shows every plain field and
 * every timestamp. A new resource gets a sensible table with no CLI code.
 */
export function kindColumns(resource: DescMessage, wide: boolean): Column[] {
  const fields = resource.fields.filter((f) => !NEVER.test(f.name));
  // A pair of resources (e.g. InstanceDisk: attachment + disk) has no field of its own to show:
  // each part's columns, headed by the part's name.
  if (!fields.some((f) => isPlain(f) || isTimestamp(f)))
    return fields
      .filter((f) => f.fieldKind === "message")
      .flatMap((part) =>
        kindColumns(part.message!, wide)
          .filter((c) => !c.parent)
          .map((c) => ({ ...c, header: `${part.name.toUpperCase()}_${c.header}`, parent: part.jsonName })),
      );
  const header = (f: DescField) => f.name.replace(/_time$/, "").toUpperCase();
  if (wide)
    return fields.filter((f) => isPlain(f) || isTimestamp(f)).map((field) => ({ header: header(field), field }));
  const id = fields.find((f) => f.name === "id");
  const rank = (f: DescField) => (NAME_LIKE.test(f.name) ? 0 : f.fieldKind === "enum" ? 1 : 2);
  const candidates = fields
    .filter((f) => f !== id && isPlain(f) && !/(^|_)id$|description|_path$|checksum|serial|notes|^error$/.test(f.name))
    .filter((f) => !(f.fieldKind === "scalar" && f.scalar === 12 /* bytes */))
    .map((f, i) => ({ f, i }))
    .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
    .slice(0, DEFAULT_MAX - (id ? 1 : 0))
    .sort((a, b) => (rank(a.f) === 0 ? -1 : 0) - (rank(b.f) === 0 ? -1 : 0) || a.i - b.i)
    .map(({ f }) => f);
  const created = fields.find((f) => f.name === "create_time" && isTimestamp(f));
  return [
    ...(id ? [{ header: "ID", field: id }] : []),
    ...candidates.map((field) => ({ header: header(field), field })),
    ...(created ? [{ header: "AGE", field: created, age: true }] : []),
  ];
}
