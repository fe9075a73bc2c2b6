import type { Knex } from "knex";

// Issue 11 (4): a username names one account in the whole hub, so Login needs no tenant and one
// tenant admin can never make another tenant's logins ambiguous. A hub that already holds the same
// username in several tenants is not changed behind anyone's back: the migration stops and says
// which usernames to resolve (delete all but one account of each with the previous release).
export async function up(knex: Knex): Promise<void> {
  const clashes = (
    await knex.raw<{ rows: { username: string; accounts: string | number }[] }>(
      `SELECT lower(username) AS username, count(*) AS accounts FROM users WHERE deleted_at IS NULL
       GROUP BY lower(username) HAVING count(*) > 1 ORDER BY 1 LIMIT 20`,
    )
  ).rows;
  if (clashes.length > 0) {
    const list = clashes.map((c) => `${c.username} (${c.accounts} accounts)`).join(", ");
    throw new Error(
      `Usernames must be unique across the hub, but these exist in several tenants: ${list}. ` +
        `Delete all but one account of each with the previous release, then start this one.`,
    );
  }
  await knex.raw(`DROP INDEX IF EXISTS users_username_lower_live`);
  await knex.raw(`CREATE UNIQUE INDEX users_username_unique_live ON users (lower(username)) WHERE deleted_at IS NULL`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
