import { create } from "@bufbuild/protobuf";
import { CommandResultSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";
import { inventoryToProto } from "../../lib/host-facts/host-facts-proto.js";
import type { HostInventory } from "../../lib/host-facts/host-facts.js";

/** Diagnostic: reads the host's inventory now (what Hello sends at connect). */
export function collectInventoryExecutor(collect: () => Promise<HostInventory>): CommandExecutor<"collectInventory"> {
  return async () =>
    create(CommandResultSchema, { kind: { case: "inventory", value: inventoryToProto(await collect()) } });
}
