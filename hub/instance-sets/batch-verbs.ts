import type { Knex } from "knex";
import type { Caller } from "../api/caller.js";
import { NotFoundError } from "../domain/errors.js";
import type { RentalMode } from "../instances/instance-enums.js";
import { startInstance } from "../instances/instance-start.js";
import { deleteInstance, restartInstance, stopInstance, type OperationTimeouts } from "../instances/instance-verbs.js";
import type { PlacementPort } from "../instances/placement-port.js";
import { eachItem, type Outcome } from "./batch-outcome.js";
import { accessSet, requireManager } from "./instance-set-permissions.js";
import { getSetInstance, setInstanceIds, type SetInstance } from "./set-instance-store.js";

export type BatchVerb = "start" | "stop" | "restart" | "delete";

export interface BatchVerbDeps {
  knex: Knex;
  placement: PlacementPort;
  timeouts: OperationTimeouts & { startTimeoutMs: number };
}

export interface BatchVerbItem {
  instanceId: string;
  outcome: Outcome<SetInstance>;
}

/**
 * A state verb over the set's instances (000 §2.3 批量操作): all of them or the ids named, each
 * through hub/instances' own verb (its transaction, guarded transition, quota, event, audit), one
 * outcome per instance; an instance not in the set is not_found for that item. Managers only
 * (000 §2.5.4: a student drives only its own instance, through InstanceService).
 */
export async function batchVerb(
  deps: BatchVerbDeps,
  caller: Caller,
  setId: string,
  verb: BatchVerb,
  instanceIds: readonly string[],
  start: { computePoolId: string | null; rentalMode: RentalMode },
): Promise<BatchVerbItem[]> {
  const access = await accessSet(deps.knex, caller.principal, setId);
  requireManager(access, `${verb} instances`);
  const ids = instanceIds.length > 0 ? instanceIds : await setInstanceIds(deps.knex, setId);
  const t = deps.timeouts;
  const outcomes = await eachItem(ids, async (id) => {
    if (!(await getSetInstance(deps.knex, setId, id))) throw new NotFoundError("instance set instance", id);
    if (verb === "start")
      await startInstance(
        { knex: deps.knex, placement: deps.placement, startTimeoutMs: t.startTimeoutMs },
        caller,
        id,
        start,
      );
    else if (verb === "stop") await stopInstance(deps.knex, caller, id, t);
    else if (verb === "restart") await restartInstance(deps.knex, caller, id, t);
    else await deleteInstance(deps.knex, caller, id, t);
    return (await getSetInstance(deps.knex, setId, id, { includeDeleted: true }))!;
  });
  return ids.map((instanceId, i) => ({ instanceId, outcome: outcomes[i]! }));
}
