import { Role as RolePb, RoleSchema } from "../../gen/edgehub/admin/v1/role_pb.js";
import { enumMapping } from "./enum-mapping.js";

/** The four roles of the spec: the wire enum ⇄ the `users.role` text, defined once. */
export const ROLE = enumMapping(
  RoleSchema,
  {
    [RolePb.ADMIN]: "admin",
    [RolePb.TENANT_ADMIN]: "tenant_admin",
    [RolePb.OPERATOR]: "operator",
    [RolePb.USER]: "user",
  },
  [{ table: "users", column: "role" }],
);
export type Role = (typeof ROLE.dbValues)[number];

/** The authenticated user behind an admin API call. */
export interface Principal {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  /** null for system accounts (admin, operator without a tenant). */
  readonly tenantId: string | null;
}
