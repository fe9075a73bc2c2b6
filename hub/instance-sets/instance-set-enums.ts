import {
  InstanceSetRole as RolePb,
  InstanceSetRoleSchema,
  InstanceSetStatus as StatusPb,
  InstanceSetStatusSchema,
  InstanceSetType as TypePb,
  InstanceSetTypeSchema,
} from "../../gen/edgehub/admin/v1/instance_set_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The closed vocabularies of 000 §2.2: each wire enum ⇄ the text its column stores.

export const SET_TYPE = enumMapping(
  InstanceSetTypeSchema,
  {
    [TypePb.PROJECT]: "project",
    [TypePb.DEPARTMENT]: "department",
    [TypePb.APPLICATION]: "application",
    [TypePb.TRAINING]: "training",
    [TypePb.CUSTOM]: "custom",
  },
  [{ table: "instance_sets", column: "set_type" }],
);

export const SET_STATUS = enumMapping(
  InstanceSetStatusSchema,
  { [StatusPb.ACTIVE]: "active", [StatusPb.ARCHIVED]: "archived", [StatusPb.DELETED]: "deleted" },
  [{ table: "instance_sets", column: "status" }],
);

export const SET_ROLE = enumMapping(
  InstanceSetRoleSchema,
  {
    [RolePb.TEACHER]: "teacher",
    [RolePb.STUDENT]: "student",
    [RolePb.MASTER]: "master",
    [RolePb.WORKER]: "worker",
  },
  [
    { table: "instance_set_members", column: "role" },
    { table: "instance_set_instances", column: "role" },
  ],
);
