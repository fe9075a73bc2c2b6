import { InvalidArgumentError } from "../domain/errors.js";
import { COMMON_PASSWORDS } from "./common-passwords.js";

/** A password is at least this long; a passphrase of a few words passes the same rule. */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

const COMMON: ReadonlySet<string> = new Set(COMMON_PASSWORDS);

/** "Password1234!" and "password" are the same guess: the base without trailing digits and symbols. */
function guessBases(password: string): string[] {
  const lower = password.toLowerCase();
  const base = lower.replace(/[^a-z]+$/u, "");
  const compact = lower.replace(/[\s_.-]+/gu, "");
  return [lower, base, compact, compact.replace(/[^a-z]+$/u, "")].filter((s) => s !== "");
}

/**
 * The hub's password rule (issue 11 #9), for every way a password is set: CreateUser,
 * SetUserPassword, ChangePassword and HUB_ADMIN_PASSWORD. Messages never echo the password.
 */
export function checkPassword(field: string, password: string, username: string): string {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new InvalidArgumentError(field, `must be at least ${MIN_PASSWORD_LENGTH} characters (a passphrase works)`);
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new InvalidArgumentError(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
  const bases = guessBases(password);
  const name = username.trim().toLowerCase();
  if (name !== "" && bases.some((b) => b === name || b === name.replace(/[\s_.@-]+/gu, "")))
    throw new InvalidArgumentError(field, "must not be the username");
  if (bases.some((b) => COMMON.has(b)))
    throw new InvalidArgumentError(field, "is one of the most common passwords; choose another");
  return password;
}
