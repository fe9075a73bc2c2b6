import { TenantStatus as TenantStatusPb, TenantStatusSchema } from "../../gen/edgehub/admin/v1/tenant_pb.js";
import { UserStatus as UserStatusPb, UserStatusSchema } from "../../gen/edgehub/admin/v1/user_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// Role is the kit's (hub/api/principal.ts: ROLE); quota mode is quota's (hub/quota/quota-enums.ts:
// QUOTA_MODE), though both are stored on identity's tables.

/** Whether a tenant is in service (000 §4): the wire enum ⇄ `tenants.status`. */
export const TENANT_STATUS = enumMapping(
  TenantStatusSchema,
  { [TenantStatusPb.ACTIVE]: "active", [TenantStatusPb.INACTIVE]: "inactive", [TenantStatusPb.SUSPENDED]: "suspended" },
  [{ table: "tenants", column: "status" }],
);
export type TenantStatus = (typeof TENANT_STATUS.dbValues)[number];

/** Whether an account may log in (000 §5.2): the wire enum ⇄ `users.status`. */
export const USER_STATUS = enumMapping(
  UserStatusSchema,
  { [UserStatusPb.ACTIVE]: "active", [UserStatusPb.INACTIVE]: "inactive", [UserStatusPb.LOCKED]: "locked" },
  [{ table: "users", column: "status" }],
);
export type UserStatus = (typeof USER_STATUS.dbValues)[number];
