import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  BatchItemErrorSchema,
  InstanceSetInstanceSchema,
  InstanceSetMemberSchema,
  InstanceSetSchema,
  type BatchItemError,
  type InstanceSet as InstanceSetMessage,
  type InstanceSetInstance,
  type InstanceSetMember as InstanceSetMemberMessage,
} from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import { QuotaExceededSchema } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { toConnectError } from "../api/connect-errors.js";
import { etagOf } from "../api/etag.js";
import { DESIRED_STATE, INSTANCE_STATUS } from "../instances/instance-enums.js";
import type { InstanceSet, InstanceSetMember } from "./instance-set.js";
import { SET_ROLE, SET_STATUS, SET_TYPE } from "./instance-set-enums.js";
import type { SetInstance } from "./set-instance-store.js";

// Domain ⇄ wire for InstanceSetService (the service file's half that has no handlers).

export function setMessage(s: InstanceSet): InstanceSetMessage {
  return create(InstanceSetSchema, {
    id: s.id,
    tenantId: s.tenantId,
    name: s.name,
    description: s.description,
    ownerId: s.ownerId,
    userGroupId: s.userGroupId ?? "",
    setType: SET_TYPE.fromDb(s.setType),
    status: SET_STATUS.fromDb(s.status),
    tags: s.tags,
    templateId: s.templateId ?? "",
    createTime: timestampFromDate(s.createdAt),
    updateTime: timestampFromDate(s.updatedAt),
    creatorId: s.createdBy ?? "",
    updaterId: s.updatedBy ?? "",
    etag: etagOf(s),
  });
}

export function memberMessage(m: InstanceSetMember): InstanceSetMemberMessage {
  return create(InstanceSetMemberSchema, {
    id: m.id,
    instanceSetId: m.instanceSetId,
    userId: m.userId,
    role: SET_ROLE.fromDb(m.role),
    joinTime: timestampFromDate(m.joinedAt),
    addedBy: m.addedBy ?? "",
  });
}

export function setInstanceMessage(i: SetInstance): InstanceSetInstance {
  return create(InstanceSetInstanceSchema, {
    instanceId: i.instanceId,
    instanceSetId: i.instanceSetId,
    name: i.name,
    userId: i.userId,
    role: SET_ROLE.fromDb(i.role),
    status: INSTANCE_STATUS.fromDb(i.status),
    desiredState: DESIRED_STATE.fromDb(i.desiredState),
    cpuCores: i.cpuCores,
    memoryGb: i.memoryGb,
    storageGb: i.storageGb,
    gpuCount: i.gpuCount,
    computeMachineId: i.computeMachineId ?? "",
    lastError: i.lastError,
    joinTime: timestampFromDate(i.joinedAt),
    createTime: timestampFromDate(i.createdAt),
  });
}

/** `ResourceExhausted` → `resource_exhausted`: the code name as Connect JSON spells it. */
function codeName(code: Code): string {
  return Code[code].replace(/[A-Z]/g, (c, at: number) => (at === 0 ? "" : "_") + c.toLowerCase());
}

/** One refused item: the code, message and typed details it would have had as a call of its own. */
export function itemError(err: unknown): BatchItemError {
  const e = toConnectError(err)!;
  const info = e.findDetails(ErrorInfoSchema)[0];
  return create(BatchItemErrorSchema, {
    code: codeName(e.code),
    message: e.rawMessage,
    reason: info?.reason ?? "",
    metadata: info?.metadata ?? {},
    field: e.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field ?? "",
    quotaExceeded: e.findDetails(QuotaExceededSchema)[0],
  });
}
