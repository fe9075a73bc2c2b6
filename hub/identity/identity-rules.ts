import { InvalidArgumentError } from "../domain/errors.js";
import { quotedInput } from "../api/size-limits.js";

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;
// Deliberately simple: one @, no spaces, a dot in the domain. Delivery is the real test.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function validName(field: string, value: string, max = 128): string {
  const v = value.trim();
  if (v === "") throw new InvalidArgumentError(field, "must not be empty");
  if (v.length > max) throw new InvalidArgumentError(field, `must be at most ${max} characters`);
  return v;
}

export function validUsername(field: string, value: string): string {
  const v = validName(field, value, 64);
  if (!USERNAME.test(v))
    throw new InvalidArgumentError(
      field,
      "may contain only letters, digits, '.', '_', '@' and '-' and must start with a letter or digit",
    );
  return v;
}

/** Empty means no email; otherwise it must look like an address. */
export function validEmail(field: string, value: string): string | null {
  const v = value.trim();
  if (v === "") return null;
  if (v.length > 254 || !EMAIL.test(v))
    throw new InvalidArgumentError(field, `is not a valid email address: ${quotedInput(v)}`);
  return v;
}
