import { ConnectError } from "@connectrpc/connect";
import type { Knex } from "knex";
import { hashPassword } from "../../hub/auth/password-hash.js";
import type { Principal, Role } from "../../hub/api/principal.js";
import { newId } from "../../hub/db/ids.js";

export const PASSWORD = "catalog-test-password";

export interface TestUser extends Principal {
  tenantName: string;
}

/** Tenants, users and groups written straight into the identity tables (the identity API is another issue). */
export class CatalogPeople {
  private hash: string | undefined;
  constructor(private readonly knex: Knex) {}

  async tenant(name: string): Promise<{ id: string; name: string }> {
    const id = newId();
    await this.knex("tenants").insert({ id, name });
    return { id, name };
  }

  async user(username: string, role: Role, tenant: { id: string; name: string } | null): Promise<TestUser> {
    this.hash ??= await hashPassword(PASSWORD);
    const id = newId();
    await this.knex("users").insert({ id, tenant_id: tenant?.id ?? null, username, password_hash: this.hash, role });
    return { userId: id, username, role, tenantId: tenant?.id ?? null, tenantName: tenant?.name ?? "" };
  }

  async group(tenantId: string, name: string, members: TestUser[]): Promise<string> {
    const id = newId();
    await this.knex("user_groups").insert({ id, tenant_id: tenantId, name });
    for (const m of members) await this.knex("user_group_members").insert({ group_id: id, user_id: m.userId });
    return id;
  }
}

/** The ConnectError a call failed with (fails the test when the call succeeds). */
export async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

/** Row counts of the tables a refused call must leave untouched. */
export async function counts(knex: Knex, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const [row] = await knex(t).count<{ n: number }[]>({ n: "*" });
    out[t] = Number(row!.n);
  }
  return out;
}
