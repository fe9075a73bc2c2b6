import { SchedulingPolicy as PolicyPb, SchedulingPolicySchema } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { SchedulingOutcome as OutcomePb, SchedulingOutcomeSchema } from "../../gen/edgehub/admin/v1/scheduling_pb.js";
import { enumMapping } from "../api/enum-mapping.js";

// The closed vocabularies of scheduling_history, each wire enum ⇄ the text its column stores.

export const SCHEDULING_OUTCOME = enumMapping(
  SchedulingOutcomeSchema,
  { [OutcomePb.PLACED]: "placed", [OutcomePb.FAILED]: "failed" },
  [{ table: "scheduling_history", column: "outcome" }],
);

export const RECORDED_POLICY = enumMapping(
  SchedulingPolicySchema,
  {
    [PolicyPb.LOAD_BALANCE]: "load_balance",
    [PolicyPb.PRIORITY]: "priority",
    [PolicyPb.AFFINITY]: "affinity",
    [PolicyPb.ROUND_ROBIN]: "round_robin",
  },
  [{ table: "scheduling_history", column: "policy" }],
);
