import { create } from "@bufbuild/protobuf";
import {
  ExceededDimensionSchema,
  QuotaDimension,
  QuotaDimensionSchema,
  QuotaExceededSchema,
  QuotaHolderType,
  QuotaHolderTypeSchema,
  QuotaLimitsSchema,
  QuotaMode,
  QuotaModeSchema,
  QuotaUsageLevel,
  QuotaUsageLevelSchema,
  type QuotaLimits as QuotaLimitsMessage,
} from "../../gen/edgehub/admin/v1/quota_pb.js";
import { enumMapping } from "../api/enum-mapping.js";
import { registerErrorDetail } from "../api/error-details.js";
import { InvalidArgumentError, ResourceExhaustedError } from "../domain/errors.js";

/** The seven quota dimensions of 000 §10.1–10.2, in the order they are reported (no column: they are the occ_* columns). */
export const QUOTA_DIMENSION = enumMapping(QuotaDimensionSchema, {
  [QuotaDimension.INSTANCES]: "instances",
  [QuotaDimension.CPU_CORES]: "cpu_cores",
  [QuotaDimension.MEMORY_GB]: "memory_gb",
  [QuotaDimension.STORAGE_GB]: "storage_gb",
  [QuotaDimension.PRIVATE_DATA_DISK_GB]: "private_data_disk_gb",
  [QuotaDimension.IP_ADDRESSES]: "ip_addresses",
  [QuotaDimension.BANDWIDTH_GBPS]: "bandwidth_gbps",
});

/** Quota holders of 000 §10.4.2. Groups are "group" inside the hub (their rows are user_groups). */
export const QUOTA_HOLDER_TYPE = enumMapping(QuotaHolderTypeSchema, {
  [QuotaHolderType.TENANT]: "tenant",
  [QuotaHolderType.USER_GROUP]: "group",
  [QuotaHolderType.USER]: "user",
  [QuotaHolderType.INSTANCE_SET]: "instance_set",
});

/** A group's quota mode; the identity feature stores it on the group. */
export const QUOTA_MODE = enumMapping(
  QuotaModeSchema,
  {
    [QuotaMode.INDEPENDENT]: "independent",
    [QuotaMode.SHARED]: "shared",
    [QuotaMode.HYBRID]: "hybrid",
  },
  [{ table: "user_groups", column: "quota_mode" }],
);

/** Alert thresholds of 000 §10.5 (computed, never stored). */
export const QUOTA_USAGE_LEVEL = enumMapping(QuotaUsageLevelSchema, {
  [QuotaUsageLevel.OK]: "ok",
  [QuotaUsageLevel.NOTICE]: "notice",
  [QuotaUsageLevel.WARNING]: "warning",
  [QuotaUsageLevel.CRITICAL]: "critical",
});

type Dimension = (typeof QUOTA_DIMENSION.dbValues)[number];
type Limits = Partial<Record<Dimension, number>>;

/*
 * QuotaLimits is the dimension list again, as one optional field per dimension (`max_<dimension>`);
 * it is mapped here, next to the enum, because the tenant and group services carry it too and a
 * feature must not import another's service file.
 */

/** Wire → domain, unchecked (validateLimits checks the numbers). */
export function quotaLimitsFromProto(m: QuotaLimitsMessage | undefined): Limits {
  if (!m) return {};
  const out: Limits = {};
  const wire: Record<Dimension, number | undefined> = {
    instances: m.maxInstances,
    cpu_cores: m.maxCpuCores,
    memory_gb: m.maxMemoryGb,
    storage_gb: m.maxStorageGb,
    private_data_disk_gb: m.maxPrivateDataDiskGb,
    ip_addresses: m.maxIpAddresses,
    bandwidth_gbps: m.maxBandwidthGbps,
  };
  for (const d of QUOTA_DIMENSION.dbValues) if (wire[d] !== undefined) out[d] = wire[d];
  return out;
}

export function quotaLimitsToProto(l: Limits): QuotaLimitsMessage {
  return create(QuotaLimitsSchema, {
    maxInstances: l.instances,
    maxCpuCores: l.cpu_cores,
    maxMemoryGb: l.memory_gb,
    maxStorageGb: l.storage_gb,
    maxPrivateDataDiskGb: l.private_data_disk_gb,
    maxIpAddresses: l.ip_addresses,
    maxBandwidthGbps: l.bandwidth_gbps,
  });
}

// Quota refusals carry QuotaExceeded next to ErrorInfo (QUOTA_EXCEEDED). Registered here, not in
// the service, because this file loads with every quota check (quota-dimensions imports it).
registerErrorDetail(ResourceExhaustedError, (err) =>
  err.exceeded.length === 0
    ? []
    : [
        {
          desc: QuotaExceededSchema,
          value: create(QuotaExceededSchema, {
            dimensions: err.exceeded.map((e) =>
              create(ExceededDimensionSchema, {
                dimension: QUOTA_DIMENSION.isDbValue(e.dimension)
                  ? QUOTA_DIMENSION.fromDb(e.dimension)
                  : QuotaDimension.UNSPECIFIED,
                used: e.used,
                requested: e.requested,
                limit: e.limit,
                holderType: QUOTA_HOLDER_TYPE.isDbValue(e.holderType)
                  ? QUOTA_HOLDER_TYPE.fromDb(e.holderType)
                  : QuotaHolderType.UNSPECIFIED,
                holderId: e.holderId,
              }),
            ),
          }),
        },
      ],
);

/** A required holder type of QuotaService: instance sets are refused (their quota belongs to the instance-set feature). */
export function managedHolderType(field: string, value: QuotaHolderType): "tenant" | "group" | "user" {
  const t = QUOTA_HOLDER_TYPE.toDb(field, value);
  if (t === "instance_set")
    throw new InvalidArgumentError(field, "instance set quotas are set with their instance set");
  return t;
}
