import { InvalidArgumentError } from "../domain/errors.js";
import { quotedInput } from "./size-limits.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The one id rule of the admin API: every resource id is a UUID. A malformed id is the caller's
 * mistake (`invalid_argument` naming the field); a well-formed id that matches nothing is
 * `not_found`, raised by the store that looked.
 */
export function requireId(field: string, value: string): string {
  if (value === "") throw new InvalidArgumentError(field, "must not be empty");
  if (!UUID.test(value)) throw new InvalidArgumentError(field, `must be a UUID, got ${quotedInput(value)}`);
  return value.toLowerCase();
}

/** Empty means "not given" (filters, optional references). */
export function optionalId(field: string, value: string): string | null {
  return value === "" ? null : requireId(field, value);
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
