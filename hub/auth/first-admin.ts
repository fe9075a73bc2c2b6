import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import { recordAudit } from "../audit/audit-writer.js";
import { newId } from "../db/ids.js";
import { hashPassword } from "./password-hash.js";

export interface FirstAdminResult {
  created: boolean;
  /** Set only when the password was generated and must be shown once. */
  generatedPassword?: string;
}

/** Creates the user `admin` when the database has no users at all (first start). */
export async function ensureFirstAdmin(
  knex: Knex,
  options: { password: string | undefined; now: Date },
): Promise<FirstAdminResult> {
  const existing = await knex("users").first("id");
  if (existing) return { created: false };
  const generated = options.password === undefined ? randomBytes(18).toString("base64url") : undefined;
  const passwordHash = await hashPassword(options.password ?? generated!);
  await knex.transaction(async (trx) => {
    const id = newId();
    await trx("users").insert({
      id,
      username: "admin",
      password_hash: passwordHash,
      role: "admin",
      status: "active",
      created_at: options.now,
      updated_at: options.now,
    });
    await recordAudit(trx, {
      tenantId: null,
      action: "user.create",
      targetType: "user",
      targetId: id,
      after: { username: "admin", role: "admin" },
      requestId: "bootstrap",
      at: options.now,
    });
  });
  return generated === undefined ? { created: true } : { created: true, generatedPassword: generated };
}
