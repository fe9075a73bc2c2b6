import type { GenEnum } from "@bufbuild/protobuf/codegenv2";
import { InvalidArgumentError } from "../domain/errors.js";

/** A database column whose CHECK constraint lists the mapping's values. */
export interface CheckedColumn {
  readonly table: string;
  readonly column: string;
}

/**
 * One closed value list, defined once: the generated proto enum is the source, this maps each of
 * its values (but `_UNSPECIFIED`) to the text the database stores. The map's type requires every
 * enum value, so a value added to the proto and not here fails the type check; the columns named
 * here are checked against the migrations' CHECK constraints by test/api/enum-agreement.test.ts.
 */
export interface EnumMapping<E extends number, D extends string> {
  /** Proto enum name, e.g. `edgehub.admin.v1.Role`. */
  readonly typeName: string;
  /** Every database value, in enum order. */
  readonly dbValues: readonly D[];
  readonly columns: readonly CheckedColumn[];
  /** A required request field: `_UNSPECIFIED` or an unknown number is `invalid_argument` on `field`. */
  toDb(field: string, value: E): D;
  /** A filter: `_UNSPECIFIED` means "any" (null). */
  toDbFilter(field: string, value: E): D | null;
  /** A stored value; one the code does not know is a bug, not bad input. */
  fromDb(value: string): E;
  isDbValue(value: string): value is D;
}

/** Every mapping that names database columns, for the agreement test. */
export const CHECKED_ENUM_MAPPINGS: EnumMapping<number, string>[] = [];

export function enumMapping<E extends number, const M extends { readonly [K in Exclude<E, 0>]: string }>(
  schema: GenEnum<E>,
  map: M,
  columns: readonly CheckedColumn[] = [],
): EnumMapping<E, M[keyof M]> {
  type D = M[keyof M];
  const toDbMap = new Map<number, D>(Object.entries(map).map(([k, v]) => [Number(k), v as D]));
  const fromDbMap = new Map<string, E>([...toDbMap].map(([k, v]) => [v, k as E]));
  const names = schema.values.filter((v) => v.number !== 0).map((v) => v.name);
  const dbValues = schema.values.filter((v) => v.number !== 0).map((v) => toDbMap.get(v.number)!);
  const refuse = (field: string, value: number): never => {
    const known = schema.values.find((v) => v.number === value);
    throw new InvalidArgumentError(field, `must be one of ${names.join(", ")}; got ${known ? known.name : value}`);
  };
  const mapping: EnumMapping<E, D> = {
    typeName: schema.typeName,
    dbValues,
    columns,
    toDb(field, value) {
      return toDbMap.get(value) ?? refuse(field, value);
    },
    toDbFilter(field, value) {
      return value === 0 ? null : (toDbMap.get(value) ?? refuse(field, value));
    },
    fromDb(value) {
      const e = fromDbMap.get(value);
      if (e === undefined)
        throw new Error(`Stored value ${JSON.stringify(value)} has no ${schema.typeName} counterpart`);
      return e;
    },
    isDbValue(value): value is D {
      return fromDbMap.has(value);
    },
  };
  if (columns.length > 0) CHECKED_ENUM_MAPPINGS.push(mapping as unknown as EnumMapping<number, string>);
  return Object.freeze(mapping);
}
