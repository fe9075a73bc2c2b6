import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { hashPassword } from "../../hub/auth/password-hash.js";

/** Substring in a couple of names only: the "rare" search every *_contains filter is tried with. */
export const RARE = "qzxrare";
/** Password of every seeded user. */
export const SEED_PASSWORD = "seeded-password";

export interface SeedSizes {
  /** Users of the big tenant. */
  bigTenantUsers: number;
  /** Other tenants, and users in each. */
  otherTenants: number;
  usersPerOtherTenant: number;
  /** Groups, images, templates, audit rows and commands of the big tenant / agent. */
  bigGroups: number;
  bigGroupMembers: number;
  catalogItems: number;
  auditRows: number;
  agents: number;
  commands: number;
}

export const PLAN_TEST_SIZES: SeedSizes = {
  bigTenantUsers: 50_000,
  otherTenants: 98,
  usersPerOtherTenant: 100,
  bigGroups: 2_000,
  bigGroupMembers: 5_000,
  catalogItems: 2_000,
  auditRows: 50_000,
  agents: 2_000,
  commands: 20_000,
};

/** Ids of the skewed corners, keyed so request fields can pick them by name. */
export interface SeededIds {
  tinyTenant: string;
  bigTenant: string;
  tinyUser: string;
  bigUser: string;
  /** In the big tenant; bigGroup has bigGroupMembers members, tinyGroup one. */
  tinyGroup: string;
  bigGroup: string;
  image: string;
  template: string;
  /** bigAgent has all commands but one, tinyAgent one. */
  tinyAgent: string;
  bigAgent: string;
  command: string;
}

/**
 * Skewed data in bulk (INSERT … SELECT generate_series, no per-row round trips): one tenant with 1
 * user, one with `bigTenantUsers`, many small ones; a group with 1 member and one with thousands;
 * catalog items, audit rows and agent commands piled on one tenant or agent. Ends with ANALYZE so
 * the planner sees the skew.
 */
export async function seedSkewed(knex: Knex, sizes: SeedSizes = PLAN_TEST_SIZES): Promise<SeededIds> {
  const hash = await hashPassword(SEED_PASSWORD);
  const ids: SeededIds = {
    tinyTenant: randomUUID(),
    bigTenant: randomUUID(),
    tinyUser: randomUUID(),
    bigUser: randomUUID(),
    tinyGroup: randomUUID(),
    bigGroup: randomUUID(),
    image: randomUUID(),
    template: randomUUID(),
    tinyAgent: randomUUID(),
    bigAgent: randomUUID(),
    command: randomUUID(),
  };
  const raw = (sql: string, bindings: readonly unknown[] = []) => knex.raw(sql, bindings as Knex.RawBinding[]);

  await raw(`INSERT INTO tenants (id, name) VALUES (?, 'tiny-tenant'), (?, 'big-tenant')`, [
    ids.tinyTenant,
    ids.bigTenant,
  ]);
  await raw(
    `INSERT INTO tenants (id, name) SELECT gen_random_uuid(), 'tenant-' || g FROM generate_series(1, ?::int) g`,
    [sizes.otherTenants],
  );

  // Usernames: the tiny tenant's only user and one big-tenant user carry the rare substring.
  await raw(
    `INSERT INTO users (id, tenant_id, username, password_hash, role) VALUES (?, ?, ?, ?, 'user'), (?, ?, ?, ?, 'tenant_admin')`,
    [ids.tinyUser, ids.tinyTenant, `solo-${RARE}`, hash, ids.bigUser, ids.bigTenant, `big-${RARE}`, hash],
  );
  await raw(
    `INSERT INTO users (id, tenant_id, username, password_hash, role, status)
    SELECT gen_random_uuid(), ?, 'user-' || g, ?, 'user', CASE WHEN g % 10000 = 0 THEN 'locked' ELSE 'active' END FROM generate_series(1, ?::int) g`,
    [ids.bigTenant, hash, sizes.bigTenantUsers - 1],
  );
  await raw(
    `INSERT INTO users (id, tenant_id, username, password_hash, role)
    SELECT gen_random_uuid(), t.id, 'member-' || g || '-' || t.name, ?, 'user' FROM tenants t CROSS JOIN generate_series(1, ?::int) g WHERE t.name LIKE 'tenant-%'`,
    [hash, sizes.usersPerOtherTenant],
  );

  await raw(`INSERT INTO user_groups (id, tenant_id, name) VALUES (?, ?, 'tiny-group'), (?, ?, 'big-group')`, [
    ids.tinyGroup,
    ids.bigTenant,
    ids.bigGroup,
    ids.bigTenant,
  ]);
  await raw(
    `INSERT INTO user_groups (id, tenant_id, name, parent_group_id) SELECT gen_random_uuid(), ?, 'group-' || g, ? FROM generate_series(1, ?::int) g`,
    [ids.bigTenant, ids.bigGroup, sizes.bigGroups],
  );
  await raw(`INSERT INTO user_group_members (group_id, user_id) VALUES (?, ?)`, [ids.tinyGroup, ids.bigUser]);
  await raw(`INSERT INTO user_group_members (group_id, user_id) SELECT ?, id FROM users WHERE tenant_id = ? LIMIT ?`, [
    ids.bigGroup,
    ids.bigTenant,
    sizes.bigGroupMembers,
  ]);

  await raw(
    `INSERT INTO images (id, tenant_id, name, image_type, owner_id, base_os) VALUES (?, ?, ?, 'custom', ?, 'rareos')`,
    [ids.image, ids.tinyTenant, `image-${RARE}`, ids.tinyUser],
  );
  await raw(
    `INSERT INTO images (id, tenant_id, name, image_type, owner_id, base_os)
    SELECT gen_random_uuid(), ?, 'image-' || g, 'os_base', ?, 'ubuntu' FROM generate_series(1, ?::int) g`,
    [ids.bigTenant, ids.bigUser, sizes.catalogItems],
  );
  await raw(
    `INSERT INTO templates (id, tenant_id, name, owner_id, default_cpu_cores, default_memory_gb, default_storage_gb, use_case)
    VALUES (?, ?, ?, ?, 2, 4, 20, 'general')`,
    [ids.template, ids.tinyTenant, `template-${RARE}`, ids.tinyUser],
  );
  await raw(
    `INSERT INTO templates (id, tenant_id, name, owner_id, default_cpu_cores, default_memory_gb, default_storage_gb)
    SELECT gen_random_uuid(), ?, 'template-' || g, ?, 2, 4, 20 FROM generate_series(1, ?::int) g`,
    [ids.bigTenant, ids.bigUser, sizes.catalogItems],
  );

  await raw(
    `INSERT INTO audit_log (id, at, actor_user_id, actor_username, tenant_id, action, target_type, target_id)
    VALUES (gen_random_uuid(), now(), ?, 'solo', ?, 'user.delete', 'user_group', ?)`,
    [ids.tinyUser, ids.tinyTenant, ids.tinyUser],
  );
  await raw(
    `INSERT INTO audit_log (id, at, actor_user_id, actor_username, tenant_id, action, target_type, target_id)
    SELECT gen_random_uuid(), now() - g * interval '1 second', ?, 'big', ?, 'user.create', 'user', gen_random_uuid()::text FROM generate_series(1, ?::int) g`,
    [ids.bigUser, ids.bigTenant, sizes.auditRows],
  );

  await raw(
    `INSERT INTO agents (id, role, hostname, certificate_serial, certificate_expires_at, status) VALUES
    (?, 'cloud_box', 'tiny-agent', 'serial-tiny', now() + interval '1 year', 'revoked'),
    (?, 'compute', 'big-agent', 'serial-big', now() + interval '1 year', 'connected')`,
    [ids.tinyAgent, ids.bigAgent],
  );
  await raw(
    `INSERT INTO agents (id, role, hostname, certificate_serial, certificate_expires_at, status)
    SELECT gen_random_uuid(), 'compute', 'host-' || g, 'serial-' || g, now() + interval '1 year', 'connected' FROM generate_series(1, ?::int) g`,
    [sizes.agents],
  );
  await raw(
    `INSERT INTO agent_commands (id, agent_id, kind, deadline, state) VALUES (?, ?, 'reboot', now() + interval '1 hour', 'failed')`,
    [ids.command, ids.tinyAgent],
  );
  await raw(
    `INSERT INTO agent_commands (id, agent_id, kind, deadline, state, created_at)
    SELECT gen_random_uuid(), ?, 'reboot', now() + interval '1 hour', 'succeeded', now() - g * interval '1 second' FROM generate_series(1, ?::int) g`,
    [ids.bigAgent, sizes.commands],
  );

  for (const table of [
    "tenants",
    "users",
    "user_groups",
    "user_group_members",
    "images",
    "templates",
    "audit_log",
    "agents",
    "agent_commands",
  ]) {
    await raw(`ANALYZE ${table}`);
  }
  return ids;
}
