import { create } from "@bufbuild/protobuf";
import { QuotaLimitsSchema, type QuotaLimits as QuotaLimitsMessage } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { validateLimits, type QuotaLimits } from "./quota-dimensions.js";

// Wire ⇄ domain mapping of QuotaLimits, shared by the tenant, group and quota services.

export function quotaLimitsFromProto(m: QuotaLimitsMessage | undefined, field: string): QuotaLimits {
  if (!m) return {};
  return validateLimits({
    instances: m.maxInstances, cpu_cores: m.maxCpuCores, memory_gb: m.maxMemoryGb, storage_gb: m.maxStorageGb,
    private_data_disk_gb: m.maxPrivateDataDiskGb, ip_addresses: m.maxIpAddresses, bandwidth_gbps: m.maxBandwidthGbps,
  }, field);
}

export function quotaLimitsToProto(l: QuotaLimits): QuotaLimitsMessage {
  return create(QuotaLimitsSchema, {
    maxInstances: l.instances, maxCpuCores: l.cpu_cores, maxMemoryGb: l.memory_gb, maxStorageGb: l.storage_gb,
    maxPrivateDataDiskGb: l.private_data_disk_gb, maxIpAddresses: l.ip_addresses, maxBandwidthGbps: l.bandwidth_gbps,
  });
}
