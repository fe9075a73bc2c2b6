import { create } from "@bufbuild/protobuf";
import { CommandResultSchema, type CommandResult } from "../../gen/edgehub/common/v1/command_pb.js";
import {
  RbdImageReportSchema,
  RbdPoolListSchema,
  type RbdClusterAccess,
  type RbdImageReport,
} from "../../gen/edgehub/common/v1/rbd_pb.js";
import type { RbdImageState } from "../rbd/images.js";
import type { RbdPoolUsage } from "../rbd/pools.js";

/** What librbd knows about an image as the RbdImageReport the hub reads; undefined = absent. */
export function rbdImageReport(pool: string, image: string, s: RbdImageState | undefined): RbdImageReport {
  if (!s) return create(RbdImageReportSchema, { pool, image, exists: false });
  return create(RbdImageReportSchema, {
    pool,
    image,
    exists: true,
    sizeBytes: s.sizeBytes,
    parentPool: s.parent?.pool ?? "",
    parentImage: s.parent?.image ?? "",
    parentSnapshot: s.parent?.snapshot ?? "",
    snapshots: s.snapshots.map((x) => ({ name: x.name, sizeBytes: x.sizeBytes, protected: x.protected })),
  });
}

export function rbdImageResult(pool: string, image: string, s: RbdImageState | undefined): CommandResult {
  return create(CommandResultSchema, { kind: { case: "rbdImage", value: rbdImageReport(pool, image, s) } });
}

export function rbdImagesResult(pool: string, images: string[]): CommandResult {
  return create(CommandResultSchema, { kind: { case: "rbdImages", value: { pool, images } } });
}

export function rbdPoolsResult(pools: RbdPoolUsage[], cluster: RbdClusterAccess): CommandResult {
  return create(CommandResultSchema, {
    kind: {
      case: "rbdPools",
      value: create(RbdPoolListSchema, {
        pools: pools.map((p) => ({
          name: p.name,
          usedBytes: p.usedBytes,
          availableBytes: p.availableBytes,
          objectCount: p.objectCount,
        })),
        cluster,
      }),
    },
  });
}
