import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import { AuditLogEntrySchema, AuditService } from "../../gen/edgehub/admin/v1/audit_pb.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { principalOf } from "../api/request-context.js";
import { scopeTenantFilter } from "../api/tenant-scope.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { optionalId } from "../identity/identity-rules.js";
import { decodePageToken, pageSizeOf } from "../identity/page-token.js";
import { listAuditLog } from "./audit-store.js";

// admin reads everything; tenant_admin its tenant's rows (system-wide rows have no tenant).
export const auditServicePolicy: ServicePolicy<typeof AuditService> = {
  listAuditLog: rolesAllowed("admin", "tenant_admin"),
};

export function createAuditService(deps: { knex: Knex }): ServiceImpl<typeof AuditService> {
  return {
    async listAuditLog(req, ctx) {
      const cursor = decodePageToken(req.pageToken, 2);
      if (cursor && Number.isNaN(Date.parse(cursor[0]!))) throw new InvalidArgumentError("page_token", "is not a token returned by this list");
      const since = req.since ? timestampDate(req.since) : null;
      const until = req.until ? timestampDate(req.until) : null;
      if (since && until && since >= until) throw new InvalidArgumentError("until", "must be after since");
      const page = await listAuditLog(deps.knex, {
        tenantId: scopeTenantFilter(principalOf(ctx), optionalId("tenant_id", req.tenantId) ?? ""),
        actorUserId: optionalId("actor_user_id", req.actorUserId),
        action: req.action.trim(), targetType: req.targetType.trim(), targetId: req.targetId.trim(), since, until,
        pageSize: pageSizeOf(req.pageSize),
        after: cursor ? { at: cursor[0]!, id: optionalId("page_token", cursor[1]!)! } : undefined,
      });
      return {
        entries: page.items.map((e) => create(AuditLogEntrySchema, {
          id: e.id, at: timestampFromDate(e.at), actorUserId: e.actorUserId ?? "", actorUsername: e.actorUsername, tenantId: e.tenantId ?? "",
          action: e.action, targetType: e.targetType, targetId: e.targetId ?? "",
          beforeJson: e.before === null || e.before === undefined ? "" : JSON.stringify(e.before),
          afterJson: e.after === null || e.after === undefined ? "" : JSON.stringify(e.after),
          requestId: e.requestId,
        })),
        nextPageToken: page.nextPageToken,
      };
    },
  };
}
