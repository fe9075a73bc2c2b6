import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  CloudBoxBindingSchema,
  CloudBoxSchema,
  type CloudBox as CloudBoxMessage,
  type CloudBoxBinding as BindingMessage,
} from "../../gen/edgehub/admin/v1/cloud_box_pb.js";
import { etagOf } from "../api/etag.js";
import type { BoxBinding, CloudBox } from "./cloud-box.js";
import { CLOUD_BOX_STATUS } from "./cloud-box-enums.js";
import { editableView } from "./cloud-box-rules.js";
import { networkModeToProto } from "../cloud-box-devices/box-facts-wire.js";

// Domain ⇄ admin wire for boxes and bindings.

const ts = (d: Date | null) => (d ? timestampFromDate(d) : undefined);

export function bindingMessage(b: BoxBinding): BindingMessage {
  return create(CloudBoxBindingSchema, {
    id: b.id,
    cloudBoxId: b.cloudBoxId,
    instanceId: b.instanceId,
    userId: b.userId,
    expireTime: ts(b.expiresAt),
    creatorId: b.createdBy ?? "",
    createTime: timestampFromDate(b.createdAt),
  });
}

export function boxMessage(b: CloudBox, binding: BoxBinding | undefined): CloudBoxMessage {
  const m = b.lastMetrics;
  return create(CloudBoxSchema, {
    id: b.id,
    name: b.name,
    serialNumber: b.serialNumber,
    macAddress: b.macAddress,
    model: b.model,
    manufacturer: b.manufacturer,
    location: b.location,
    tags: b.tags,
    assignedUserId: b.assignedUserId ?? "",
    agentId: b.agentId,
    edgeDataCenterId: b.edgeDataCenterId ?? "",
    status: CLOUD_BOX_STATUS.fromDb(b.status),
    isDisabled: b.status === "disabled",
    firmwareVersion: b.firmwareVersion,
    ipAddress: b.ipAddress,
    network: {
      mode: networkModeToProto(b.network.mode),
      gateway: b.network.gateway,
      dnsServers: b.network.dnsServers,
      subnetMask: b.network.subnetMask,
    },
    lastMetrics: m
      ? {
          cpuUsagePercent: m.cpuUsagePercent,
          memoryUsagePercent: m.memoryUsagePercent,
          diskUsagePercent: m.diskUsagePercent,
          ...(m.temperatureCelsius !== null ? { temperatureCelsius: m.temperatureCelsius } : {}),
          uptimeSeconds: BigInt(Math.max(0, Math.floor(m.uptimeSeconds))),
        }
      : undefined,
    lastMetricsTime: ts(b.lastMetricsAt),
    lastBootTime: ts(b.lastBootAt),
    lastHeartbeatTime: ts(b.lastHeartbeatAt),
    binding: binding ? bindingMessage(binding) : undefined,
    createTime: timestampFromDate(b.createdAt),
    updateTime: timestampFromDate(b.updatedAt),
    etag: etagOf(editableView(b)),
  });
}
