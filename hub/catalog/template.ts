import type { CatalogStatus, Visibility } from "./catalog-enums.js";
import type { TemplateConfig } from "./template-config.js";

/** A template of 000 §6.2: its current configuration (the latest version's snapshot) and its access fields. */
export interface Template {
  id: string;
  config: TemplateConfig;
  visibility: Visibility;
  status: CatalogStatus;
  ownerId: string;
  tenantId: string | null;
  /** version_number of the latest version. */
  version: string;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

/** A row of template_versions (000 §6.2.3). */
export interface TemplateVersion {
  id: string;
  templateId: string;
  versionNumber: string;
  isLatest: boolean;
  config: TemplateConfig;
  changelog: string;
  createdAt: Date;
  createdBy: string | null;
}
