import {
  DiskAttachmentOrigin as OriginPb,
  DiskAttachmentOriginSchema,
  DiskAttachmentStatus as StatusPb,
  DiskAttachmentStatusSchema,
  DiskMountMode as ModePb,
  DiskMountModeSchema,
} from "../../gen/edgehub/admin/v1/disk_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The closed vocabularies of 000 §3.1 instance_private_data_disk_attachments: wire enum ⇄ column text.

export const ATTACHMENT_STATUS = enumMapping(
  DiskAttachmentStatusSchema,
  {
    [StatusPb.ATTACHING]: "attaching",
    [StatusPb.ATTACHED]: "attached",
    [StatusPb.DETACHING]: "detaching",
    [StatusPb.FAILED]: "failed",
  },
  [{ table: "instance_private_data_disk_attachments", column: "status" }],
);

export const MOUNT_MODE = enumMapping(DiskMountModeSchema, { [ModePb.RW]: "rw", [ModePb.RO]: "ro" }, [
  { table: "instance_private_data_disk_attachments", column: "mount_mode" },
]);

export const ATTACHMENT_ORIGIN = enumMapping(
  DiskAttachmentOriginSchema,
  { [OriginPb.MANUAL]: "manual", [OriginPb.AUTO]: "auto", [OriginPb.BATCH]: "batch" },
  [{ table: "instance_private_data_disk_attachments", column: "origin" }],
);
