import type { Architecture, CatalogStatus, ImageType, TagKind, Visibility } from "./catalog-enums.js";

/** An image of 000 §6.4 (the domain type; image-service.ts maps it to the wire). */
export interface Image {
  id: string;
  name: string;
  description: string;
  imageType: ImageType;
  baseOs: string;
  osVersion: string;
  architecture: Architecture;
  sizeGb: number;
  visibility: Visibility;
  status: CatalogStatus;
  fileServerId: string;
  filePath: string;
  checksumMd5: string;
  ownerId: string;
  tenantId: string | null;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

/** A version of an image (000 §6.4.1). */
export interface ImageVersion {
  id: string;
  imageId: string;
  versionNumber: string;
  versionName: string;
  parentVersionId: string | null;
  sizeGb: number;
  filePath: string;
  checksumMd5: string;
  releaseNotes: string;
  status: CatalogStatus;
  isLatest: boolean;
  isDefault: boolean;
  deprecatedAt: Date | null;
  archivedAt: Date | null;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date;
  /** The uploaded bytes (hub/image-content/, set once); null or absent until uploaded. */
  content?: { sha256: string; sizeBytes: number; format: "qcow2" | "raw"; uploadedAt: Date } | null;
}

/** A tag of 000 §6.4.2. */
export interface ImageTag {
  id: string;
  imageId: string;
  versionId: string;
  tagName: string;
  kind: TagKind;
  isImmutable: boolean;
  createdAt: Date;
  updatedAt: Date;
}
