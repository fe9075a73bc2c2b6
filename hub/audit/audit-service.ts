import { create, type JsonObject } from "@bufbuild/protobuf";
import { quotedInput } from "../api/size-limits.js";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import { AuditLogEntrySchema, AuditService } from "../../gen/edgehub/admin/v1/audit_pb.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest, type PageRequest } from "../api/page-token.js";
import { principalOf } from "../api/request-context.js";
import { isUuid, optionalId } from "../api/resource-id.js";
import { scopeTenantFilter } from "../api/tenant-scope.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { listAuditLog, tenantEverExisted } from "./audit-store.js";

// admin reads everything; tenant_admin its tenant's rows (system-wide rows have no tenant).
export const auditServicePolicy: ServicePolicy<typeof AuditService> = {
  listAuditLog: rolesAllowed("admin", "tenant_admin"),
};

/** `<area>.<verb>`, dotted lower_snake names (the documented format of AuditLogEntry.action). */
const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
/** A lower_snake resource kind (AuditLogEntry.target_type). */
const TARGET_TYPE = /^[a-z][a-z0-9_]*$/;

/** An open-vocabulary filter: empty is "any"; anything else must have the documented format. */
function vocabularyFilter(field: string, value: string, format: RegExp, example: string): string {
  const v = value.trim();
  if (v !== "" && !format.test(v))
    throw new InvalidArgumentError(field, `must look like ${example}, got ${quotedInput(v)}`);
  return v;
}

/** The kit's page request; the audit keyset is (full-precision `at` text, id), checked before it reaches SQL. */
function auditPage(pageSize: number, pageToken: string): PageRequest {
  const page = parsePageRequest(pageSize, pageToken, 2);
  if (page.after && (Number.isNaN(Date.parse(page.after[0]!)) || !isUuid(page.after[1]!))) {
    throw new InvalidArgumentError("page_token", "is not a token returned by this list");
  }
  return page;
}

/** A stored before/after as a Struct: objects as they are, anything else (rare) under `value`. */
function structOf(v: unknown): JsonObject | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "object" && !Array.isArray(v)) return v as JsonObject;
  return { value: v as JsonObject[keyof JsonObject] };
}

export function createAuditService(deps: { knex: Knex }): ServiceImpl<typeof AuditService> {
  return {
    async listAuditLog(req, ctx) {
      const since = req.since ? timestampDate(req.since) : null;
      const until = req.until ? timestampDate(req.until) : null;
      if (since && until && since >= until) throw new InvalidArgumentError("until", "must be after since");
      const requestedTenant = optionalId("tenant_id", req.tenantId);
      const tenantId = scopeTenantFilter(principalOf(ctx), requestedTenant ?? "");
      if (requestedTenant !== null && !(await tenantEverExisted(deps.knex, requestedTenant)))
        throw new NotFoundError("tenant", requestedTenant);
      const page = await listAuditLog(deps.knex, {
        tenantId,
        actorUserId: optionalId("actor_user_id", req.actorUserId),
        action: vocabularyFilter("action", req.action, ACTION, "tenant.create"),
        targetType: vocabularyFilter("target_type", req.targetType, TARGET_TYPE, "user_group"),
        targetId: req.targetId.trim(),
        since,
        until,
        page: auditPage(req.pageSize, req.pageToken),
      });
      return {
        entries: page.items.map((e) =>
          create(AuditLogEntrySchema, {
            id: e.id,
            createTime: timestampFromDate(e.at),
            actorUserId: e.actorUserId ?? "",
            actorUsername: e.actorUsername,
            tenantId: e.tenantId ?? "",
            action: e.action,
            targetType: e.targetType,
            targetId: e.targetId ?? "",
            before: structOf(e.before),
            after: structOf(e.after),
            requestId: e.requestId,
          }),
        ),
        nextPageToken: page.nextPageToken,
      };
    },
  };
}
