import type { HostInventory } from "../../lib/host-facts/host-facts.js";
import type { CommandExecutor } from "../../lib/fleet-session/command-dispatcher.js";

/** Diagnostic: reads the host's inventory now (what Hello sends at connect). */
export function collectInventoryExecutor(collect: () => Promise<HostInventory>): CommandExecutor {
  return async () => collect();
}
