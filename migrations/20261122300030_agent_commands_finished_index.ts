import type { Knex } from "knex";

// The expiry loop purges finished commands after their retention; this keeps that lookup indexed.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `CREATE INDEX agent_commands_finished ON agent_commands (finished_at) WHERE state IN ('succeeded','failed','cancelled','expired')`,
  );
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
