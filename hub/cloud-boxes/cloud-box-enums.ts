import { CloudBoxStatus as StatusPb, CloudBoxStatusSchema } from "../../gen/edgehub/admin/v1/cloud_box_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The closed vocabularies of 000 §1.6: each wire enum ⇄ the text its column stores.

export const CLOUD_BOX_STATUS = enumMapping(
  CloudBoxStatusSchema,
  {
    [StatusPb.INITIALIZING]: "initializing",
    [StatusPb.ONLINE]: "online",
    [StatusPb.OFFLINE]: "offline",
    [StatusPb.MAINTENANCE]: "maintenance",
    [StatusPb.ERROR]: "error",
    [StatusPb.DISABLED]: "disabled",
    [StatusPb.DECOMMISSIONED]: "decommissioned",
  },
  [{ table: "cloud_boxes", column: "status" }],
);
