export const ROLES = ["admin", "tenant_admin", "operator", "user"] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated user behind an admin API call. */
export interface Principal {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  /** null for system accounts (admin, operator without a tenant). */
  readonly tenantId: string | null;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
