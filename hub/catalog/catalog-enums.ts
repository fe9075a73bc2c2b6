import {
  Hypervisor as HypervisorPb,
  HypervisorSchema,
  ImageArchitecture as ArchitecturePb,
  ImageArchitectureSchema,
  ImageStatus as ImageStatusPb,
  ImageStatusSchema,
  ImageTagKind as TagKindPb,
  ImageTagKindSchema,
  ImageType as ImageTypePb,
  ImageTypeSchema,
  ImageVersionStatus as VersionStatusPb,
  ImageVersionStatusSchema,
  ImageVisibility as ImageVisibilityPb,
  ImageVisibilitySchema,
  RequirementDimension as DimensionPb,
  RequirementDimensionSchema,
} from "../../gen/edgehub/admin/v1/image_pb.js";
import {
  TemplateStatus as TemplateStatusPb,
  TemplateStatusSchema,
  TemplateType as TemplateTypePb,
  TemplateTypeSchema,
  TemplateUseCase as UseCasePb,
  TemplateUseCaseSchema,
  TemplateVisibility as TemplateVisibilityPb,
  TemplateVisibilitySchema,
} from "../../gen/edgehub/admin/v1/template_pb.js";
import {
  ImageContentFormat as ContentFormatPb,
  ImageContentFormatSchema,
} from "../../gen/edgehub/common/v1/compute_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The closed vocabularies of 000 §6.2.1 and §6.4: each wire enum ⇄ the text its column stores.

export const IMAGE_TYPE = enumMapping(
  ImageTypeSchema,
  {
    [ImageTypePb.OS_BASE]: "os_base",
    [ImageTypePb.APPLICATION_LAYER]: "application_layer",
    [ImageTypePb.CUSTOM]: "custom",
  },
  [{ table: "images", column: "image_type" }],
);
export type ImageType = (typeof IMAGE_TYPE.dbValues)[number];

export const ARCHITECTURE = enumMapping(
  ImageArchitectureSchema,
  { [ArchitecturePb.X86_64]: "x86_64", [ArchitecturePb.ARM64]: "arm64" },
  [{ table: "images", column: "architecture" }],
);
export type Architecture = (typeof ARCHITECTURE.dbValues)[number];

export const IMAGE_VISIBILITY = enumMapping(
  ImageVisibilitySchema,
  {
    [ImageVisibilityPb.PUBLIC]: "public",
    [ImageVisibilityPb.PRIVATE]: "private",
    [ImageVisibilityPb.GROUP_SPECIFIC]: "group_specific",
  },
  [{ table: "images", column: "visibility" }],
);

export const TEMPLATE_VISIBILITY = enumMapping(
  TemplateVisibilitySchema,
  {
    [TemplateVisibilityPb.PUBLIC]: "public",
    [TemplateVisibilityPb.PRIVATE]: "private",
    [TemplateVisibilityPb.GROUP_SPECIFIC]: "group_specific",
  },
  [{ table: "templates", column: "visibility" }],
);

/** Images and templates share one visibility rule (catalog-access.ts), so one domain type. */
export type Visibility = (typeof IMAGE_VISIBILITY.dbValues)[number];

export const IMAGE_STATUS = enumMapping(
  ImageStatusSchema,
  { [ImageStatusPb.ACTIVE]: "active", [ImageStatusPb.DEPRECATED]: "deprecated", [ImageStatusPb.ARCHIVED]: "archived" },
  [{ table: "images", column: "status" }],
);

export const IMAGE_VERSION_STATUS = enumMapping(
  ImageVersionStatusSchema,
  {
    [VersionStatusPb.ACTIVE]: "active",
    [VersionStatusPb.DEPRECATED]: "deprecated",
    [VersionStatusPb.ARCHIVED]: "archived",
  },
  [{ table: "image_versions", column: "status" }],
);

export const TEMPLATE_STATUS = enumMapping(
  TemplateStatusSchema,
  {
    [TemplateStatusPb.ACTIVE]: "active",
    [TemplateStatusPb.DEPRECATED]: "deprecated",
    [TemplateStatusPb.ARCHIVED]: "archived",
  },
  [{ table: "templates", column: "status" }],
);

/** Status of images, image versions and templates alike (one lifecycle: active → deprecated → archived). */
export type CatalogStatus = (typeof IMAGE_STATUS.dbValues)[number];

export const TAG_KIND = enumMapping(
  ImageTagKindSchema,
  { [TagKindPb.SYSTEM]: "system", [TagKindPb.VERSION]: "version", [TagKindPb.CUSTOM]: "custom" },
  [{ table: "image_tags", column: "tag_kind" }],
);
export type TagKind = (typeof TAG_KIND.dbValues)[number];

/**
 * Hypervisors an image may support (000 §6.4.5). Stored in the jsonb array
 * `image_requirements.hypervisor_compatibility`, which has no CHECK: no columns to verify.
 */
export const HYPERVISOR = enumMapping(
  HypervisorSchema,
  { [HypervisorPb.KVM]: "kvm", [HypervisorPb.HYPERV]: "hyperv", [HypervisorPb.VMWARE]: "vmware" },
  [],
);
export type Hypervisor = (typeof HYPERVISOR.dbValues)[number];

/** A requirement dimension; only on the wire (error details, check results), never stored. */
export const REQUIREMENT_DIMENSION = enumMapping(
  RequirementDimensionSchema,
  {
    [DimensionPb.CPU_CORES]: "cpu_cores",
    [DimensionPb.MEMORY_GB]: "memory_gb",
    [DimensionPb.STORAGE_GB]: "storage_gb",
    [DimensionPb.HYPERVISOR]: "hypervisor",
  },
  [],
);
export type RequirementDimension = (typeof REQUIREMENT_DIMENSION.dbValues)[number];

export const USE_CASE = enumMapping(
  TemplateUseCaseSchema,
  {
    [UseCasePb.AI_APPLICATION]: "ai_application",
    [UseCasePb.GRAPHICS_RENDERING]: "graphics_rendering",
    [UseCasePb.GAMING_HIGH_PERFORMANCE]: "gaming_high_performance",
    [UseCasePb.LIGHTWEIGHT_OFFICE]: "lightweight_office",
    [UseCasePb.WEB_SERVER]: "web_server",
    [UseCasePb.DATABASE]: "database",
    [UseCasePb.DEVELOPMENT]: "development",
    [UseCasePb.GENERAL]: "general",
  },
  [{ table: "templates", column: "use_case" }],
);
export type UseCase = (typeof USE_CASE.dbValues)[number];

export const TEMPLATE_TYPE = enumMapping(
  TemplateTypeSchema,
  { [TemplateTypePb.INSTANCE]: "instance", [TemplateTypePb.INSTANCE_SET]: "instance_set" },
  [{ table: "templates", column: "template_type" }],
);
export type TemplateType = (typeof TEMPLATE_TYPE.dbValues)[number];

// The twin lists must stay identical: a compile error here means one side gained a value.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameLists: [
  Same<Visibility, (typeof TEMPLATE_VISIBILITY.dbValues)[number]>,
  Same<CatalogStatus, (typeof IMAGE_VERSION_STATUS.dbValues)[number]>,
  Same<CatalogStatus, (typeof TEMPLATE_STATUS.dbValues)[number]>,
] = [true, true, true];
void sameLists;

/** The format of an image version's uploaded bytes (hub/image-content/). */
export const IMAGE_CONTENT_FORMAT = enumMapping(
  ImageContentFormatSchema,
  { [ContentFormatPb.QCOW2]: "qcow2", [ContentFormatPb.RAW]: "raw" },
  [{ table: "image_versions", column: "content_format" }],
);
