/** The attachment states of 000 §3.1 (挂载状态). */
export const ATTACHMENT_STATUSES = ["attaching", "attached", "detaching", "failed"] as const;
export type AttachmentStatus = (typeof ATTACHMENT_STATUSES)[number];
/** The statuses that hold the disk (count against max_attachments and the instance's rule). */
export const LIVE_ATTACHMENT_STATUSES: readonly AttachmentStatus[] = ["attaching", "attached", "detaching"];

export type MountMode = "rw" | "ro";
export type ShareMode = "exclusive" | "shared";
/** How the attachment came about: AttachDisk, auto-attach at start (000 §8.2.2), or an instance set batch. */
export type AttachmentOrigin = "manual" | "auto" | "batch";

/** One row of instance_private_data_disk_attachments. */
export interface DiskAttachment {
  id: string;
  instanceId: string;
  diskId: string;
  mountPath: string;
  mountMode: MountMode;
  shareMode: ShareMode;
  targetDev: string;
  status: AttachmentStatus;
  error: string;
  origin: AttachmentOrigin;
  commandId: string | null;
  attachedAt: Date | null;
  attachedBy: string | null;
  detachedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What an attachment needs to know of its disk (private_data_disks, owned by hub/disks). */
export interface AttachableDisk {
  id: string;
  userId: string;
  tenantId: string;
  name: string;
  diskType: "standard" | "ssd" | "nvme";
  status: string;
  shareMode: ShareMode;
  maxAttachments: number;
  attachmentCount: number;
  rbdPool: string;
  rbdImageName: string;
  storagePoolId: string;
  createdAt: Date;
}
