import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { AuthService } from "../gen/edgehub/admin/v1/auth_pb.js";
import { FleetService } from "../gen/edgehub/admin/v1/fleet_pb.js";
import { authServicePolicy, createAuthService } from "./auth/auth-service.js";
import { createFleetService, fleetServicePolicy } from "./fleet/fleet-service.js";
import { AuditService } from "../gen/edgehub/admin/v1/audit_pb.js";
import { QuotaService } from "../gen/edgehub/admin/v1/quota_pb.js";
import { TenantService } from "../gen/edgehub/admin/v1/tenant_pb.js";
import { UserGroupService } from "../gen/edgehub/admin/v1/user_group_pb.js";
import { UserService } from "../gen/edgehub/admin/v1/user_pb.js";
import { auditServicePolicy, createAuditService } from "./audit/audit-service.js";
import { createTenantService, tenantServicePolicy } from "./identity/tenant-service.js";
import { createUserGroupService, userGroupServicePolicy } from "./identity/user-group-service.js";
import { createUserService, userServicePolicy } from "./identity/user-service.js";
import { createQuotaService, quotaServicePolicy } from "./quota/quota-service.js";
import { ImageService } from "../gen/edgehub/admin/v1/image_pb.js";
import { TemplateService } from "../gen/edgehub/admin/v1/template_pb.js";
import { createImageService, imageServicePolicy } from "./catalog/image-service.js";
import { createTemplateService, templateServicePolicy } from "./catalog/template-service.js";
import { SchedulingService } from "../gen/edgehub/admin/v1/scheduling_pb.js";
import { createSchedulingService, schedulingServicePolicy } from "./scheduler/scheduling-service.js";
import { InstanceService } from "../gen/edgehub/admin/v1/instance_pb.js";
import { createInstanceService, instanceServicePolicy } from "./instances/instance-service.js";
import { placeInstance } from "./scheduler/place-instance.js";
import { releaseAllocation } from "./scheduler/release-allocation.js";
import { InfrastructureService } from "../gen/edgehub/admin/v1/infrastructure_pb.js";
import { createInfrastructureService, infrastructureServicePolicy } from "./infrastructure/infrastructure-service.js";
import { FirmwareService } from "../gen/edgehub/admin/v1/firmware_pb.js";
import { createFirmwareService, firmwareServicePolicy } from "./firmware/firmware-service.js";
import { InstanceSetService } from "../gen/edgehub/admin/v1/instance_set_pb.js";
import { createInstanceSetService, instanceSetServicePolicy } from "./instance-sets/instance-set-service.js";
import type { ServiceDeps } from "./service-deps.js";
import { CloudBoxService } from "../gen/edgehub/admin/v1/cloud_box_pb.js";
import { cloudBoxServicePolicy, createCloudBoxService } from "./cloud-boxes/cloud-box-service.js";
import { DiskService } from "../gen/edgehub/admin/v1/disk_pb.js";
import { createDiskService, diskServicePolicy } from "./disks/disk-service.js";
import { diskAttachmentHandlers, diskAttachmentPolicy } from "./disk-attachments/disk-attachment-handlers.js";
import type { PolicyRegistry, ServicePolicy } from "./api/method-policy.js";

/** The one place every admin API service is registered, each with its access policy. */
export function registerServices(router: ConnectRouter, policies: PolicyRegistry, deps: ServiceDeps): void {
  function serve<S extends DescService>(service: S, impl: ServiceImpl<S>, policy: ServicePolicy<S>): void {
    policies.add(service, policy);
    router.service(service, impl);
  }
  serve(AuthService, createAuthService(deps), authServicePolicy);
  serve(
    FleetService,
    createFleetService({ knex: deps.knex, admin: deps.fleetAdmin, caFingerprint: deps.hubCaFingerprint }),
    fleetServicePolicy,
  );
  serve(TenantService, createTenantService(deps), tenantServicePolicy);
  serve(UserService, createUserService(deps), userServicePolicy);
  serve(UserGroupService, createUserGroupService(deps), userGroupServicePolicy);
  serve(QuotaService, createQuotaService(deps), quotaServicePolicy);
  serve(AuditService, createAuditService(deps), auditServicePolicy);
  serve(ImageService, createImageService(deps), imageServicePolicy);
  serve(TemplateService, createTemplateService(deps), templateServicePolicy);
  serve(InfrastructureService, createInfrastructureService(deps), infrastructureServicePolicy);
  serve(SchedulingService, createSchedulingService(deps), schedulingServicePolicy);
  serve(
    InstanceService,
    createInstanceService({
      knex: deps.knex,
      clock: deps.clock,
      placement: { placeInstance, releaseAllocation },
      wakeReconciler: () => deps.wakeInstanceReconciler?.(),
    }),
    instanceServicePolicy,
  );
  serve(
    InstanceSetService,
    createInstanceSetService({
      knex: deps.knex,
      clock: deps.clock,
      placement: { placeInstance, releaseAllocation },
      wakeReconciler: () => deps.wakeInstanceReconciler?.(),
    }),
    instanceSetServicePolicy,
  );
  serve(FirmwareService, createFirmwareService(deps), firmwareServicePolicy);
  serve(CloudBoxService, createCloudBoxService({ knex: deps.knex, clock: deps.clock }), cloudBoxServicePolicy);
  // DiskService: disks, snapshots and pools (hub/disks/) + attachments (hub/disk-attachments/).
  serve(
    DiskService,
    {
      ...createDiskService({ knex: deps.knex, clock: deps.clock, wakeReconciler: () => deps.wakeDiskReconciler?.() }),
      ...diskAttachmentHandlers({ knex: deps.knex, clock: deps.clock }),
    },
    { ...diskServicePolicy, ...diskAttachmentPolicy },
  );
}
