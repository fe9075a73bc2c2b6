import type { Knex } from "knex";

// Issue 16: the catalog, audit and fleet lists page through an index in their own order for each
// filter, so a page reads about a page of rows whatever the filter's share of the table.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX images_tenant_id_live ON images (tenant_id, id) WHERE deleted_at IS NULL`);
  await knex.raw(`CREATE INDEX templates_tenant_id_live ON templates (tenant_id, id) WHERE deleted_at IS NULL`);
  await knex.raw(
    `CREATE INDEX templates_name_trgm_live ON templates USING gin (lower(name) gin_trgm_ops) WHERE deleted_at IS NULL`,
  );

  // audit_log lists newest first on (at, id); each filter gets that order after its key.
  await knex.raw(`CREATE INDEX audit_log_tenant_at_id ON audit_log (tenant_id, at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX audit_log_actor_at_id ON audit_log (actor_user_id, at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX audit_log_action_at_id ON audit_log (action, at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX audit_log_target_at_id ON audit_log (target_type, target_id, at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX audit_log_target_id_at_id ON audit_log (target_id, at DESC, id DESC)`);
  await knex.raw(`DROP INDEX audit_log_tenant_at`); // superseded by audit_log_tenant_at_id
  await knex.raw(`DROP INDEX audit_log_target`); // superseded by audit_log_target_at_id

  // ListCommands: newest first on (created_at, id), alone or by agent or state.
  await knex.raw(`CREATE INDEX agent_commands_created ON agent_commands (created_at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX agent_commands_agent_created ON agent_commands (agent_id, created_at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX agent_commands_state_created ON agent_commands (state, created_at DESC, id DESC)`);
  // ListAgents by role or status, in id order.
  await knex.raw(`CREATE INDEX agents_role_id ON agents (role, id)`);
  await knex.raw(`CREATE INDEX agents_status_id ON agents (status, id)`);
}

export async function down(): Promise<void> {
  throw new Error("Migrations are forward-only");
}
