import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import {
  QuotaDimension,
  QuotaHolderType,
  QuotaService,
  QuotaUsageLevel,
  type QuotaLimitsSchema,
} from "../../gen/edgehub/admin/v1/quota_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { newId } from "../../hub/db/ids.js";
import { reserve, type QuotaRequest } from "../../hub/quota/quota-ledger.js";
import type { TestHub } from "../support/test-hub.js";
import { PASSWORD, type World } from "../identity/identity-fixtures.js";

export const { TENANT, USER_GROUP, USER } = QuotaHolderType;
type Limits = MessageInitShape<typeof QuotaLimitsSchema>;

/** QuotaService calls as the tests make them. */
export function quotaApi(t: TestHub) {
  const client = (token: string): Client<typeof QuotaService> => t.client(QuotaService, token);
  return {
    client,
    /** Replaces every limit of a holder (update_mask `limits`). */
    setLimits: (
      token: string,
      holderType: QuotaHolderType,
      holderId: string,
      limits: Limits,
      more: { refuseIfOverUse?: boolean; etag?: string } = {},
    ) =>
      client(token).updateQuota({
        quota: { holderType, holderId, limits, etag: more.etag ?? "" },
        updateMask: { paths: ["limits"] },
        refuseIfOverUse: more.refuseIfOverUse ?? false,
      }),
    usage: (token: string, holderType: QuotaHolderType, holderId: string) =>
      client(token).getQuotaUsage({ holderType, holderId }),
  };
}

export function dimensionOf<T extends { dimension: QuotaDimension }>(rows: T[], d: QuotaDimension): T {
  return rows.find((r) => r.dimension === d)!;
}

/** `ok`, `notice`, … from the wire enum. */
export function levelName(level: QuotaUsageLevel): string {
  return QuotaUsageLevel[level]!.toLowerCase();
}

export async function newUser(t: TestHub, w: World, name: string): Promise<string> {
  return (
    await t
      .client(UserService, w.adminToken)
      .createUser({ tenantId: w.a.tenantId, username: name, password: PASSWORD, role: Role.USER })
  ).user!.id;
}

/** Puts an instance of `userId` into the ledger straight away (the instance feature's call). */
export function putInstance(
  t: TestHub,
  w: World,
  userId: string,
  state: string,
  resources: QuotaRequest["resources"],
  id = newId(),
): Promise<unknown> {
  const req: QuotaRequest = { consumer: { type: "instance", id }, tenantId: w.a.tenantId, userId, state, resources };
  return t.hub.db.knex.transaction((trx) => reserve(trx, req));
}
