import { NetworkMode as ModePb, NetworkModeSchema } from "../../gen/edgehub/fleet/v1/cloud_box_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// 000 §1.6 network_mode: the wire enum ⇄ the text its column stores.

export const NETWORK_MODE = enumMapping(NetworkModeSchema, { [ModePb.DHCP]: "dhcp", [ModePb.STATIC]: "static" }, [
  { table: "cloud_boxes", column: "network_mode" },
]);
export type NetworkMode = (typeof NETWORK_MODE.dbValues)[number];
