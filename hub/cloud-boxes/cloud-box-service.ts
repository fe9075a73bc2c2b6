import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import {
  AccessibleInstanceSchema,
  BoxOutcomeSchema,
  CloudBoxService,
  type BoxOutcome,
} from "../../gen/edgehub/admin/v1/cloud_box_pb.js";
import { InstanceSchema } from "../../gen/edgehub/admin/v1/instance_pb.js";
import { callerOf, type Caller } from "../api/caller.js";
import { updatePaths } from "../api/field-mask.js";
import { rolesAllowed, type ServicePolicy } from "../api/method-policy.js";
import { pageOf, parsePageRequest } from "../api/page-token.js";
import { principalOf } from "../api/request-context.js";
import { optionalId, requireId } from "../api/resource-id.js";
import { DomainError, InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { validName } from "../identity/identity-rules.js";
import { listReachableInstances } from "../instance-sets/reachable-instances.js";
import { getVisibleInstance } from "../instances/instance-access.js";
import { DESIRED_STATE, INSTANCE_STATUS } from "../instances/instance-enums.js";
import type { BoxBinding } from "./cloud-box.js";
import { bindBox, unbindBox } from "./cloud-box-bindings.js";
import { CLOUD_BOX_STATUS } from "./cloud-box-enums.js";
import {
  decommissionBox,
  disableBox,
  enableBox,
  endBoxMaintenance,
  rebootBox,
  startBoxMaintenance,
  updateBox,
  type BoxPatch,
} from "./cloud-box-operations.js";
import { MAX_BOXES_PER_CALL, validTagKey, validTags } from "./cloud-box-rules.js";
import { getCloudBox, listCloudBoxes, liveBindingsOf } from "./cloud-box-store.js";
import { bindingMessage, boxMessage } from "./cloud-box-wire.js";
import { lookUpBinding, refusalOf } from "./startup-check.js";

const ALL = ["admin", "tenant_admin", "operator", "user"] as const;
const OPERATORS = ["admin", "operator"] as const;
// Tenant admins see boxes and bind them to their tenant's instances; users who teach a set (000
// §2.5.4) see boxes and bind them to their set's instances (checked per instance in the binding).
const BINDERS = ["admin", "operator", "tenant_admin", "user"] as const;

export const cloudBoxServicePolicy: ServicePolicy<typeof CloudBoxService> = {
  getCloudBox: rolesAllowed(...BINDERS),
  listCloudBoxes: rolesAllowed(...BINDERS),
  updateCloudBox: rolesAllowed(...OPERATORS),
  disableCloudBox: rolesAllowed(...OPERATORS),
  enableCloudBox: rolesAllowed(...OPERATORS),
  decommissionCloudBox: rolesAllowed(...OPERATORS),
  startCloudBoxMaintenance: rolesAllowed(...OPERATORS),
  endCloudBoxMaintenance: rolesAllowed(...OPERATORS),
  rebootCloudBox: rolesAllowed(...OPERATORS),
  bindCloudBoxes: rolesAllowed(...BINDERS),
  unbindCloudBoxes: rolesAllowed(...BINDERS),
  previewStartupCheck: rolesAllowed(...BINDERS),
  listAccessibleInstances: rolesAllowed(...ALL),
};

export interface CloudBoxServiceDeps {
  knex: Knex;
  clock: Clock;
}

const UPDATABLE = ["name", "location", "tags", "assigned_user_id"] as const;

function boxIds(field: string, ids: readonly string[]): string[] {
  if (ids.length === 0) throw new InvalidArgumentError(field, "must name at least one cloud box");
  if (ids.length > MAX_BOXES_PER_CALL)
    throw new InvalidArgumentError(field, `must name at most ${MAX_BOXES_PER_CALL} cloud boxes`);
  const out = ids.map((id, i) => requireId(`${field}[${i}]`, id));
  const dup = out.find((id, i) => out.indexOf(id) !== i);
  if (dup) throw new InvalidArgumentError(field, `names cloud box ${dup} twice`);
  return out;
}

/** One box of a many-box call: a domain refusal is that box's result; a hub fault fails the call. */
async function outcomeOf(boxId: string, run: () => Promise<BoxBinding>): Promise<BoxOutcome> {
  try {
    const binding = await run();
    return create(BoxOutcomeSchema, { cloudBoxId: boxId, ok: true, binding: bindingMessage(binding) });
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return create(BoxOutcomeSchema, { cloudBoxId: boxId, ok: false, code: err.code, message: err.message });
  }
}

export function createCloudBoxService(deps: CloudBoxServiceDeps): ServiceImpl<typeof CloudBoxService> {
  const withBinding = async (id: string) => {
    const box = await getCloudBox(deps.knex, id);
    const binding = (await liveBindingsOf(deps.knex, [id], deps.clock.now())).get(id);
    return { cloudBox: boxMessage(box, binding) };
  };
  const asCaller = (ctx: Parameters<typeof callerOf>[0]): Caller => callerOf(ctx, deps.clock);
  return {
    async getCloudBox(req) {
      return withBinding(requireId("id", req.id));
    },
    async listCloudBoxes(req) {
      const page = parsePageRequest(req.pageSize, req.pageToken);
      if (req.tagValue !== "" && req.tagKey === "") throw new InvalidArgumentError("tag_value", "needs tag_key");
      const result = await listCloudBoxes(
        deps.knex,
        {
          status: CLOUD_BOX_STATUS.toDbFilter("status", req.status),
          edgeDataCenterId: optionalId("edge_data_center_id", req.edgeDataCenterId),
          tagKey: req.tagKey === "" ? null : validTagKey("tag_key", req.tagKey),
          tagValue: req.tagValue === "" ? null : req.tagValue,
          assignedUserId: optionalId("assigned_user_id", req.assignedUserId),
        },
        page,
      );
      const bindings = await liveBindingsOf(
        deps.knex,
        result.items.map((b) => b.id),
        deps.clock.now(),
      );
      return {
        cloudBoxes: result.items.map((b) => boxMessage(b, bindings.get(b.id))),
        nextPageToken: result.nextPageToken,
      };
    },
    async updateCloudBox(req, ctx) {
      const m = req.cloudBox;
      if (!m) throw new InvalidArgumentError("cloud_box", "is required");
      const id = requireId("cloud_box.id", m.id);
      const paths = updatePaths(req.updateMask, UPDATABLE);
      const patch: BoxPatch = {};
      if (paths.has("name")) patch.name = validName("cloud_box.name", m.name, 64);
      if (paths.has("location")) {
        if (m.location.length > 256)
          throw new InvalidArgumentError("cloud_box.location", "must be at most 256 characters");
        patch.location = m.location.trim();
      }
      if (paths.has("tags")) patch.tags = validTags("cloud_box.tags", m.tags);
      if (paths.has("assigned_user_id"))
        patch.assignedUserId = optionalId("cloud_box.assigned_user_id", m.assignedUserId);
      await updateBox(deps.knex, asCaller(ctx), id, m.etag, patch);
      return withBinding(id);
    },
    async disableCloudBox(req, ctx) {
      const id = requireId("id", req.id);
      await disableBox(deps.knex, asCaller(ctx), id);
      return withBinding(id);
    },
    async enableCloudBox(req, ctx) {
      const id = requireId("id", req.id);
      await enableBox(deps.knex, asCaller(ctx), id);
      return withBinding(id);
    },
    async startCloudBoxMaintenance(req, ctx) {
      const id = requireId("id", req.id);
      await startBoxMaintenance(deps.knex, asCaller(ctx), id);
      return withBinding(id);
    },
    async endCloudBoxMaintenance(req, ctx) {
      const id = requireId("id", req.id);
      await endBoxMaintenance(deps.knex, asCaller(ctx), id);
      return withBinding(id);
    },
    async decommissionCloudBox(req, ctx) {
      const id = requireId("id", req.id);
      if (req.reason.length > 512) throw new InvalidArgumentError("reason", "must be at most 512 characters");
      await decommissionBox(deps.knex, asCaller(ctx), id, req.reason.trim());
      return withBinding(id);
    },
    async rebootCloudBox(req, ctx) {
      const id = requireId("id", req.id);
      if (req.reason.length > 512) throw new InvalidArgumentError("reason", "must be at most 512 characters");
      return { commandId: await rebootBox(deps.knex, asCaller(ctx), id, req.reason.trim()) };
    },
    async bindCloudBoxes(req, ctx) {
      const caller = asCaller(ctx);
      const ids = boxIds(
        "bindings",
        req.bindings.map((b) => b.cloudBoxId),
      );
      const instanceIds = req.bindings.map((b, i) => requireId(`bindings[${i}].instance_id`, b.instanceId));
      const expiresAt = req.expireTime ? timestampDate(req.expireTime) : null;
      if (expiresAt && expiresAt.getTime() <= caller.at.getTime())
        throw new InvalidArgumentError("expire_time", "must be in the future");
      const results: BoxOutcome[] = [];
      for (const [i, boxId] of ids.entries())
        results.push(
          await outcomeOf(boxId, () => bindBox(deps.knex, caller, { boxId, instanceId: instanceIds[i]!, expiresAt })),
        );
      return { results };
    },
    async unbindCloudBoxes(req, ctx) {
      const caller = asCaller(ctx);
      const ids = boxIds("cloud_box_ids", req.cloudBoxIds);
      const results: BoxOutcome[] = [];
      for (const boxId of ids) results.push(await outcomeOf(boxId, () => unbindBox(deps.knex, caller, boxId)));
      return { results };
    },
    async previewStartupCheck(req, ctx) {
      const box = await getCloudBox(deps.knex, requireId("id", req.id));
      const refusal = refusalOf(box);
      const found = await lookUpBinding(deps.knex, box, deps.clock.now());
      // A caller who may not see the bound instance learns only that the box would not ask for a login.
      const visible =
        "instance" in found &&
        (await getVisibleInstance(deps.knex, principalOf(ctx), found.instance.id).then(
          () => true,
          (err) => {
            if (err instanceof NotFoundError) return false;
            throw err;
          },
        ));
      return {
        requiresLogin: !refusal && !("instance" in found),
        binding: found.binding && visible ? bindingMessage(found.binding) : undefined,
        instanceId: visible ? found.instance.id : "",
        instanceName: visible ? found.instance.name : "",
        instanceStatus: visible ? INSTANCE_STATUS.fromDb(found.instance.status) : 0,
        message: refusal ?? ("message" in found ? found.message : ""),
      };
    },
    async listAccessibleInstances(req, ctx) {
      const p = principalOf(ctx);
      const page = parsePageRequest(req.pageSize, req.pageToken);
      const after = page.after?.[0];
      const all = (await listReachableInstances(deps.knex, p.userId)).filter(
        (r) => after === undefined || r.instanceId > after,
      );
      const result = pageOf(all.slice(0, page.pageSize + 1), page, (r) => [r.instanceId]);
      return {
        instances: result.items.map((r) =>
          create(AccessibleInstanceSchema, {
            instance: create(InstanceSchema, {
              id: r.instanceId,
              name: r.name,
              userId: r.ownerId,
              tenantId: r.tenantId,
              status: INSTANCE_STATUS.isDbValue(r.status) ? INSTANCE_STATUS.fromDb(r.status) : 0,
              desiredState: DESIRED_STATE.isDbValue(r.desiredState) ? DESIRED_STATE.fromDb(r.desiredState) : 0,
            }),
            role: r.owned ? "owner" : (r.instanceSet?.memberRole ?? ""),
            instanceSetId: r.instanceSet?.id ?? "",
            instanceSetName: r.instanceSet?.name ?? "",
          }),
        ),
        nextPageToken: result.nextPageToken,
      };
    },
  };
}
