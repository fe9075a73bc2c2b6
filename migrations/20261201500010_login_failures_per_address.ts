import type { Knex } from "knex";

// Issue 11 (3): failed logins count per user *and* source address, so a stranger guessing from
// one address locks out that address only; users.failed_login_count/locked_until stay as the
// slower hub-wide backstop.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("login_failures", (t) => {
    t.uuid("user_id").notNullable().references("id").inTable("users").onDelete("CASCADE");
    t.text("source_address").notNullable();
    t.integer("failure_count").notNullable();
    t.timestamp("window_started_at", { useTz: true }).notNullable();
    t.timestamp("locked_until", { useTz: true }).nullable();
    t.primary(["user_id", "source_address"]);
  });
  await knex.raw(
    `ALTER TABLE login_failures ADD CONSTRAINT login_failures_count_check CHECK (failure_count >= 0 AND length(source_address) <= 64)`,
  );
  // The backstop counts failures within a window too, not since the account's last success.
  await knex.schema.alterTable("users", (t) => {
    t.timestamp("failed_login_window_started_at", { useTz: true }).nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
