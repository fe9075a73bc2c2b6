import type { ServiceImpl } from "@connectrpc/connect";
import type { DiskService } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { callerOf } from "../api/caller.js";
import { parsePageRequest } from "../api/page-token.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { DISK_TYPE, STORAGE_POOL_STATUS } from "./disk-enums.js";
import type { DiskHandlerDeps } from "./disk-handler.js";
import { setDiskTypePool, validPoolName } from "./disk-type-pools.js";
import { diskTypePoolMessage, storagePoolMessage } from "./disk-wire.js";
import { getStoragePool, listDiskTypePools, listStoragePools } from "./storage-pool-store.js";

/** DiskService's storage pool methods (000 §6.1.2) and the disk_type → pool mapping. */
export function storagePoolHandlers(
  deps: DiskHandlerDeps,
): Pick<
  ServiceImpl<typeof DiskService>,
  "listStoragePools" | "getStoragePool" | "listDiskTypePools" | "updateDiskTypePool"
> {
  return {
    async listStoragePools(req) {
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const result = await listStoragePools(
        deps.knex,
        {
          name: req.name.trim() === "" ? null : validPoolName("name", req.name),
          agentId: optionalId("agent_id", req.agentId),
          edgeDataCenterId: optionalId("edge_data_center_id", req.edgeDataCenterId),
          status: STORAGE_POOL_STATUS.toDbFilter("status", req.status),
        },
        page,
      );
      const mapping = await listDiskTypePools(deps.knex);
      return {
        storagePools: result.items.map((p) => storagePoolMessage(p, mapping)),
        nextPageToken: result.nextPageToken,
      };
    },
    async getStoragePool(req) {
      const pool = await getStoragePool(deps.knex, requireId("id", req.id));
      return { storagePool: storagePoolMessage(pool, await listDiskTypePools(deps.knex)) };
    },
    async listDiskTypePools() {
      return { diskTypePools: (await listDiskTypePools(deps.knex)).map(diskTypePoolMessage) };
    },
    async updateDiskTypePool(req, ctx) {
      const m = req.diskTypePool;
      if (!m) throw new InvalidArgumentError("disk_type_pool", "is required");
      const diskType = DISK_TYPE.toDb("disk_type_pool.disk_type", m.diskType);
      const poolName = validPoolName("disk_type_pool.pool_name", m.poolName);
      const row = await setDiskTypePool(deps.knex, callerOf(ctx, deps.clock), diskType, poolName);
      return { diskTypePool: diskTypePoolMessage(row) };
    },
  };
}
