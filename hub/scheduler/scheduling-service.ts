import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import {
  PlacementDemandSchema,
  SchedulingRecordSchema,
  SchedulingService,
  type SchedulingRecord as SchedulingRecordMessage,
} from "../../gen/edgehub/admin/v1/scheduling_pb.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { parsePageRequest, type PageRequest } from "../api/page-token.js";
import { isUuid, optionalId, requireId } from "../api/resource-id.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { REJECTION_REASONS } from "./rejection-reasons.js";
import { RECORDED_POLICY, SCHEDULING_OUTCOME } from "./scheduling-enums.js";
import { getSchedulingRecord, listSchedulingRecords, type SchedulingRecord } from "./scheduling-history-store.js";

// Placement history is about the fleet, not one tenant: the people who run the machines read it.
const ADMIN_OR_OPERATOR = rolesAllowed("admin", "operator");

export const schedulingServicePolicy: ServicePolicy<typeof SchedulingService> = {
  getSchedulingRecord: ADMIN_OR_OPERATOR,
  listSchedulingRecords: ADMIN_OR_OPERATOR,
};

/** The kit's page request; the keyset is (full-precision created_at text, id), checked before it reaches SQL. */
function historyPage(pageSize: number, pageToken: string): PageRequest {
  const page = parsePageRequest(pageSize, pageToken, 2);
  if (page.after && (Number.isNaN(Date.parse(page.after[0]!)) || !isUuid(page.after[1]!)))
    throw new InvalidArgumentError("page_token", "is not a token returned by this list");
  return page;
}

function recordMessage(r: SchedulingRecord): SchedulingRecordMessage {
  const d = r.request;
  return create(SchedulingRecordSchema, {
    id: r.id,
    createTime: timestampFromDate(r.createdAt),
    instanceId: r.instanceId,
    vmId: r.vmId,
    tenantId: r.tenantId,
    demand: create(PlacementDemandSchema, {
      computePoolId: d.compute_pool_id ?? "",
      exclusive: d.rental_mode === "exclusive",
      cpuCores: d.cpu_cores,
      memoryGb: d.memory_gb,
      storageGb: d.storage_gb,
      gpuCount: d.gpu_count,
      gpuModel: d.gpu_model ?? "",
      requiredLabels: d.required_labels,
      affinityMachineId: d.affinity_machine_id ?? "",
    }),
    policy: RECORDED_POLICY.fromDb(r.policy),
    outcome: SCHEDULING_OUTCOME.fromDb(r.outcome),
    candidatesConsidered: r.candidatesConsidered,
    // Filter order, the order a machine meets them in.
    rejections: REJECTION_REASONS.filter((reason) => (r.rejected[reason] ?? 0) > 0).map((reason) => ({
      reason,
      machineCount: r.rejected[reason]!,
    })),
    chosenComputeMachineId: r.chosenMachineId ?? "",
    chosenGpuIds: r.chosenGpuIds,
    failureReason: r.failureReason ?? "",
    durationMs: r.durationMs,
  });
}

export function createSchedulingService(deps: { knex: Knex }): ServiceImpl<typeof SchedulingService> {
  return {
    async getSchedulingRecord(req) {
      return { record: recordMessage(await getSchedulingRecord(deps.knex, requireId("id", req.id))) };
    },
    async listSchedulingRecords(req) {
      const page = await listSchedulingRecords(deps.knex, {
        instanceId: optionalId("instance_id", req.instanceId),
        outcome: SCHEDULING_OUTCOME.toDbFilter("outcome", req.outcome),
        machineId: optionalId("compute_machine_id", req.computeMachineId),
        page: historyPage(req.pageSize, req.pageToken),
      });
      return { records: page.items.map(recordMessage), nextPageToken: page.nextPageToken };
    },
  };
}
