import { InvalidArgumentError } from "../domain/errors.js";
import { isRole, type Role } from "../api/principal.js";

export const TENANT_STATUSES = ["active", "inactive", "suspended"] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];
export const USER_STATUSES = ["active", "inactive", "locked"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];
export const QUOTA_MODES = ["independent", "shared", "hybrid"] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;
// Deliberately simple: one @, no spaces, a dot in the domain. Delivery is the real test.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const MIN_PASSWORD_LENGTH = 8;

export function requireId(field: string, value: string): string {
  if (value === "") throw new InvalidArgumentError(field, "must not be empty");
  if (!UUID.test(value)) throw new InvalidArgumentError(field, `must be a UUID, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

export function optionalId(field: string, value: string): string | null {
  return value === "" ? null : requireId(field, value);
}

export function validName(field: string, value: string, max = 128): string {
  const v = value.trim();
  if (v === "") throw new InvalidArgumentError(field, "must not be empty");
  if (v.length > max) throw new InvalidArgumentError(field, `must be at most ${max} characters`);
  return v;
}

export function validUsername(value: string): string {
  const v = validName("username", value, 64);
  if (!USERNAME.test(v)) throw new InvalidArgumentError("username", "may contain only letters, digits, '.', '_', '@' and '-' and must start with a letter or digit");
  return v;
}

/** Empty means no email; otherwise it must look like an address. */
export function validEmail(value: string): string | null {
  const v = value.trim();
  if (v === "") return null;
  if (v.length > 254 || !EMAIL.test(v)) throw new InvalidArgumentError("email", `is not a valid email address: ${JSON.stringify(v)}`);
  return v;
}

export function validPassword(value: string): string {
  if (value.length < MIN_PASSWORD_LENGTH) throw new InvalidArgumentError("password", `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (value.length > 1024) throw new InvalidArgumentError("password", "must be at most 1024 characters");
  return value;
}

export function validRole(value: string): Role {
  if (!isRole(value)) throw new InvalidArgumentError("role", `must be one of admin, tenant_admin, operator, user; got ${JSON.stringify(value)}`);
  return value;
}

export function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(field, `must be one of ${allowed.join(", ")}; got ${JSON.stringify(value)}`);
  return value as T;
}
